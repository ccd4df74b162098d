"""The tool-using agent, and the actions it proposed that wait for the user's decision.

``POST /v1/agent`` runs the agent on a question. When the model wants a side-effecting
tool (a ticket, an escalation, a write to a company API), nothing is executed: the
response has ``status: waiting_for_confirmation`` and the ``pending_actions``. The user
confirms (``POST /v1/actions/{id}/confirm``, as a logged-in user unless
``agent.api_keys_may_confirm``: executed once, then the run resumes and the response is the
continued run) or rejects (``/reject``: never executed; the run resumes
knowing it). Actions are visible only to the user they were proposed to.

Without a tools-capable LLM the agent cannot call tools; rather than fail, the endpoint
answers plainly from the documents (``status: plain_answer``) and says so in ``notice``.
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Query

from kenning.agent import AgentResult, RunStatus
from kenning.agent.store import ActionStatus
from kenning.api.deps import ClientDep, ComponentsDep, Reader
from kenning.api.schemas import CitationOut, PassageOut
from kenning.api.schemas_agent import ActionOut, AgentOut, AgentRequest, StepOut
from kenning.auth.models import Caller, CredentialKind
from kenning.errors import ConflictError, PermissionDeniedError
from kenning.memory import Conversation
from kenning.wiring import Components

router = APIRouter(prefix="/v1", tags=["agent"])
HISTORY_MESSAGES = 10
"""Earlier messages of the conversation the model sees (5 exchanges)."""

NO_AGENT_NOTICE = (
    "No tools-capable language model is configured (llm.base_url): this is a plain answer"
    " from the documents; the agent's tools were not used."
)


def _conversation(comps: Components, caller: Caller, body: AgentRequest) -> Conversation:
    tenant, username = caller.user.tenant, caller.user.username
    if body.conversation_id:
        return comps.conversations.get(tenant, username, body.conversation_id)
    return comps.conversations.start(tenant, username, body.question)


@router.post("/agent")
def ask_agent(
    body: AgentRequest, caller: Reader, comps: ComponentsDep, client: ClientDep
) -> AgentOut:
    """Run the agent: it may search, and propose actions that wait for your confirmation."""
    conv = _conversation(comps, caller, body)
    agent = comps.agent
    started = time.perf_counter()
    if agent is None:
        return _plain(comps, caller, conv, body.question, started)
    earlier = comps.conversations.messages(conv)[-HISTORY_MESSAGES:]
    history = [(m.role, m.content) for m in earlier]
    result = agent.run(body.question, caller, conv.id, history=history, client=client)
    return _out(comps, caller, result, started)


@router.get("/actions")
def list_actions(
    caller: Reader,
    comps: ComponentsDep,
    status: Literal["pending", "rejected", "executing", "executed", "failed"] | None = Query(
        default=None
    ),
) -> list[ActionOut]:
    """Your actions proposed by the agent, oldest first (``status=pending`` for the queue)."""
    actions = comps.agent_store.list_actions(
        caller.user.tenant,
        caller.user.username,
        status=ActionStatus(status) if status else None,
    )
    return [ActionOut.of(a) for a in actions]


@router.get("/actions/{action_id}")
def get_action(action_id: str, caller: Reader, comps: ComponentsDep) -> ActionOut:
    action = comps.agent_store.get_action(caller.user.tenant, caller.user.username, action_id)
    return ActionOut.of(action)


@router.post("/actions/{action_id}/confirm")
def confirm_action(
    action_id: str, caller: Reader, comps: ComponentsDep, client: ClientDep
) -> AgentOut:
    """Execute the action (once; 409 if it was already decided), then resume its run."""
    return _decide(comps, caller, action_id, confirm=True, client=client)


@router.post("/actions/{action_id}/reject")
def reject_action(
    action_id: str, caller: Reader, comps: ComponentsDep, client: ClientDep
) -> AgentOut:
    """Drop the action without executing it, then resume its run."""
    return _decide(comps, caller, action_id, confirm=False, client=client)


def _decide(
    comps: Components, caller: Caller, action_id: str, *, confirm: bool, client: str
) -> AgentOut:
    agent = comps.agent
    if agent is None:
        raise ConflictError("the agent is not configured here (no tools-capable LLM)")
    if (
        confirm
        and caller.kind is CredentialKind.API_KEY
        and not comps.settings.agent.api_keys_may_confirm
    ):
        raise PermissionDeniedError("confirm actions as a logged-in user, not with an API key")
    started = time.perf_counter()
    result = agent.decide(caller, action_id, confirm=confirm, client=client)
    return _out(comps, caller, result, started)


def _out(comps: Components, caller: Caller, result: AgentResult, started: float) -> AgentOut:
    run, answer = result.run, result.answer
    assert run.conversation_id is not None
    tenant, username = caller.user.tenant, caller.user.username
    answer_id = None
    if run.status is not RunStatus.WAITING:
        conv = comps.conversations.get(tenant, username, run.conversation_id)
        answer_id = comps.recorder.record(
            tenant, username, conv, answer, time.perf_counter() - started
        )
    return AgentOut(
        run_id=run.id,
        conversation_id=run.conversation_id,
        answer_id=answer_id,
        status=run.status.value,  # type: ignore[arg-type]
        text=answer.text,
        citations=[CitationOut.of(c) for c in answer.citations],
        sources=[PassageOut.of(p) for p in answer.sources],
        steps=[StepOut(**step) for step in run.log],
        pending_actions=[ActionOut.of(a) for a in result.pending],
        model=answer.model,
        notice=answer.notice,
    )


def _plain(
    comps: Components, caller: Caller, conv: Conversation, question: str, started: float
) -> AgentOut:
    answer = comps.assistant.ask(question, principal=caller.principal)
    answer_id = comps.recorder.record(
        caller.user.tenant, caller.user.username, conv, answer, time.perf_counter() - started
    )
    return AgentOut(
        run_id=None,
        conversation_id=conv.id,
        answer_id=answer_id,
        status="plain_answer",
        text=answer.text,
        citations=[CitationOut.of(c) for c in answer.citations],
        sources=[PassageOut.of(p) for p in answer.sources],
        steps=[],
        pending_actions=[],
        model=answer.model,
        notice=NO_AGENT_NOTICE if answer.notice is None else f"{NO_AGENT_NOTICE} {answer.notice}",
    )
