"""Bodies of the agent API (``/v1/agent``, ``/v1/actions``); a module of their own so the
agent's shapes can change without touching the rest of the API's schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from kenning.agent import Action
from kenning.api.schemas import CitationOut, PassageOut, Strict


class AgentRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, max_length=64)


class ActionOut(BaseModel):
    """A side-effecting tool call the agent proposed: shown to the user in full, because
    confirming it means agreeing to exactly these arguments."""

    id: str
    run_id: str
    tool: str
    arguments: dict[str, Any]
    status: Literal["pending", "rejected", "executing", "executed", "failed"]
    created_at: float
    decided_at: float | None

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        return cls(
            id=action.id,
            run_id=action.run_id,
            tool=action.tool,
            arguments=action.arguments,
            status=action.status.value,
            created_at=action.created_at,
            decided_at=action.decided_at,
        )


class StepOut(BaseModel):
    """One tool call of the run (arguments with secrets redacted)."""

    tool: str
    status: str
    """executed, failed, pending (awaiting confirmation), rejected (by the user), denied
    (not allowed for the role) or invalid (arguments failed the schema)."""
    arguments: Any = None
    error: str | None = None
    action_id: str | None = None


class AgentOut(BaseModel):
    run_id: str | None
    """``None`` when no tools-capable LLM is configured and a plain answer was given."""
    conversation_id: str
    answer_id: str | None
    """Set once the run has finished (feedback goes to ``/v1/answers/{id}/feedback``)."""
    status: Literal["done", "waiting_for_confirmation", "step_limit", "plain_answer"]
    text: str
    citations: list[CitationOut]
    sources: list[PassageOut]
    steps: list[StepOut]
    pending_actions: list[ActionOut]
    model: str | None
    notice: str | None
