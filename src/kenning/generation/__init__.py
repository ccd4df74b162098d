"""Answer generation: one ``LLM`` protocol and an OpenAI-compatible client.

The contract (errors, retries, streaming) is written on ``LLM`` in ``base.py``; every
backend keeps it so the answering pipeline can fall back with a single ``except``.
"""

from __future__ import annotations

from kenning.generation.base import LLM, ChatMessage, Completion, Role, StreamEvent, Usage
from kenning.generation.openai_chat import OpenAIChat

__all__ = [
    "LLM",
    "ChatMessage",
    "Completion",
    "OpenAIChat",
    "Role",
    "StreamEvent",
    "Usage",
]
