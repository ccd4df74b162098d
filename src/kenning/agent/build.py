"""Assembling the agent from settings: the tool registry and its dependencies.

Called by the composition root (``Components.agent``); kept here so ``wiring.py`` only
names it. The registry is built once per process: MCP servers are asked for their tools
then, and a server added later needs a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kenning.agent.loop import Agent
from kenning.agent.registry import ToolContext, ToolRegistry
from kenning.agent.store import AgentStore
from kenning.agent.tools.helpdesk import Helpdesk, helpdesk_tools
from kenning.agent.tools.knowledge import search_knowledge
from kenning.agent.tools.mcp_servers import discover
from kenning.agent.tools.openapi import openapi_tools
from kenning.generation.base import ToolCallingLLM
from kenning.settings import Settings

if TYPE_CHECKING:
    from kenning.wiring import Components


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every credential the agent's tools use: cut out of anything audited."""
    agent = settings.agent
    found = [agent.helpdesk.auth_value, agent.openapi.auth_value, settings.llm.api_key]
    found += [server.api_key for server in agent.mcp_servers]
    return tuple(s.get_secret_value() for s in found if s is not None and s.get_secret_value())


def build_registry(comps: Components) -> ToolRegistry:
    settings = comps.settings.agent

    def escalate(ctx: ToolContext, reason: str) -> None:
        if ctx.conversation_id is None:
            return
        user = ctx.caller.user
        comps.recorder.escalate(user.tenant, user.username, ctx.conversation_id, reason)
        comps.auth.repo.append_audit(
            user.tenant, user.username, "conversation.escalate", ctx.conversation_id,
            {"reason": reason, "by": "agent", "run_id": ctx.run_id}, ctx.client,
        )  # fmt: skip

    helpdesk = Helpdesk(settings.helpdesk) if settings.helpdesk.url else None
    registry = ToolRegistry([search_knowledge(comps.assistant)])
    for tool in helpdesk_tools(helpdesk, escalate):
        registry.add(tool)
    for tool in openapi_tools(settings.openapi):
        registry.add(tool)
    for server in settings.mcp_servers:
        for tool in discover(server):
            registry.add(tool)
    return registry


def make_agent(comps: Components, llm: ToolCallingLLM) -> Agent:
    return Agent(
        llm,
        comps.tools,
        comps.tool_runner,
        AgentStore(comps.db),
        comps.auth.repo.append_audit,
        comps.sentence_embedder,
        comps.settings.agent,
        comps.settings.llm,
        secrets=configured_secrets(comps.settings),
    )


__all__ = ["build_registry", "configured_secrets", "make_agent"]
