"""Questions answered from the documents the caller may read: JSON or a stream (SSE).

The stream sends ``sources`` (the numbered passages), ``token`` events as the answer is
generated, ``reset`` if generation failed midway and the answer restarts extractively,
and a final ``answer`` event carrying the validated answer, citations and its id (for
feedback). Each answer is recorded with its quality signals; in a conversation both
messages are stored too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import AnswerOut, ChatRequest, PassageOut
from kenning.auth.models import Caller
from kenning.memory import Conversation
from kenning.pipelines.answering import AnswerEvent, EventKind
from kenning.types import Answer
from kenning.wiring import Components

router = APIRouter(prefix="/v1", tags=["chat"])


def _conversation(comps: Components, caller: Caller, body: ChatRequest) -> Conversation:
    tenant, username = caller.user.tenant, caller.user.username
    if body.conversation_id:
        return comps.conversations.get(tenant, username, body.conversation_id)
    return comps.conversations.start(tenant, username, body.question)


def _record(
    comps: Components, caller: Caller, conv: Conversation, answer: Answer, started: float
) -> AnswerOut:
    answer_id = comps.recorder.record(
        caller.user.tenant, caller.user.username, conv, answer, time.perf_counter() - started
    )
    return AnswerOut.of(answer, answer_id, conv.id)


@router.post(
    "/chat",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "with stream=true"}},
)
def chat(body: ChatRequest, caller: Reader, comps: ComponentsDep) -> AnswerOut | StreamingResponse:
    """Answer ``question`` with citations; ``stream: true`` for server-sent events."""
    conv = _conversation(comps, caller, body)
    flt = body.filter.to_filter() if body.filter else None
    started = time.perf_counter()
    if not body.stream:
        answer = comps.assistant.ask(body.question, principal=caller.principal, filter=flt)
        return _record(comps, caller, conv, answer, started)
    events = comps.assistant.stream(body.question, principal=caller.principal, filter=flt)
    return StreamingResponse(
        _sse(events, lambda a: _record(comps, caller, conv, a, started)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(events: Iterator[AnswerEvent], record: Callable[[Answer], AnswerOut]) -> Iterator[str]:
    for event in events:
        if event.kind is EventKind.SOURCES:
            data: object = [PassageOut.of(p).model_dump() for p in event.sources]
        elif event.kind is EventKind.TOKEN:
            data = {"text": event.text}
        elif event.kind is EventKind.RESET:
            data = {"reason": event.text}
        elif event.answer is not None:
            data = record(event.answer).model_dump()
        else:
            continue
        yield f"event: {event.kind.value}\ndata: {json.dumps(data)}\n\n"
