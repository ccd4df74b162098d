"""Feedback on answers, and the caller's own conversations."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import ConversationDetail, ConversationOut, FeedbackRequest, MessageOut

router = APIRouter(prefix="/v1", tags=["chat"])


@router.post("/answers/{answer_id}/feedback", status_code=204)
def feedback(
    answer_id: str, body: FeedbackRequest, caller: Reader, comps: ComponentsDep
) -> Response:
    """Thumbs up (1) or down (-1), with an optional comment, on an answer you received."""
    comps.conversations.add_feedback(
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
        MessageOut(role=m.role, content=m.content, answer_id=m.answer_id, created_at=m.created_at)
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
