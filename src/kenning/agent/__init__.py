"""The tool-using support agent: registry, loop, guardrails, built-in tools (docs/agent.md)."""

from kenning.agent.loop import Agent, AgentResult
from kenning.agent.registry import Tool, ToolContext, ToolOutput, ToolRegistry
from kenning.agent.store import Action, ActionStatus, AgentStore, Run, RunStatus

__all__ = [
    "Action",
    "ActionStatus",
    "Agent",
    "AgentResult",
    "AgentStore",
    "Run",
    "RunStatus",
    "Tool",
    "ToolContext",
    "ToolOutput",
    "ToolRegistry",
]
