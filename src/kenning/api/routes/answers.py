"""Feedback on answers, and the caller's own conversations (and handing one to a human)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kenning.api.deps import ClientDep, ComponentsDep, Reader
from kenning.api.schemas import (
    ConversationDetail,
    ConversationOut,
    EscalationOut,
    EscalationRequest,
    FeedbackRequest,
    MessageOut,
)

router = APIRouter(prefix="/v1", tags=["chat"])


@router.post("/answers/{answer_id}/feedback", status_code=204)
def feedback(
    answer_id: str, body: FeedbackRequest, caller: Reader, comps: ComponentsDep
) -> Response:
    """Thumbs up (1) or down (-1), with an optional comment, on an answer you received."""
    comps.recorder.feedback(
        caller.user.tenant, caller.user.username, answer_id, body.rating, body.comment
    )
    return Response(status_code=204)


@router.get("/conversations")
def list_conversations(caller: Reader, comps: ComponentsDep) -> list[ConversationOut]:
    convs = comps.conversations.list_for(caller.user.tenant, caller.user.username)
    return [
        ConversationOut(id=c.id, title=c.title, created_at=c.created_at, updated_at=c.updated_at)
        for c in convs
    ]


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: str, caller: Reader, comps: ComponentsDep
) -> ConversationDetail:
    conv = comps.conversations.get(caller.user.tenant, caller.user.username, conversation_id)
    messages = [
        MessageOut(
            role=m.role,
            content=m.content,
            answer_id=m.answer_id,
            created_at=m.created_at,
            search_query=m.search_query,
        )
        for m in comps.conversations.messages(conv)
    ]
    return ConversationDetail(
        id=conv.id,
        title=conv.title,
        created_at=conv.created_at,
        updated_at=conv.updated_at,
        messages=messages,
    )


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, caller: Reader, comps: ComponentsDep) -> Response:
    comps.conversations.delete(caller.user.tenant, caller.user.username, conversation_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/escalate")
def escalate(
    conversation_id: str,
    caller: Reader,
    comps: ComponentsDep,
    client: ClientDep,
    body: EscalationRequest | None = None,
) -> EscalationOut:
    """Hand your conversation to a human; its answers then count as not deflected.
    Escalating again changes nothing (the first time and reason stand)."""
    tenant, username = caller.user.tenant, caller.user.username
    reason = body.reason if body else ""
    conv = comps.recorder.escalate(tenant, username, conversation_id, reason)
    comps.auth.repo.append_audit(
        tenant, username, "conversation.escalate", conversation_id, {"reason": reason}, client
    )
    assert conv.escalated_at is not None
    return EscalationOut(
        conversation_id=conv.id, escalated_at=conv.escalated_at, reason=conv.escalation_reason
    )
