"""Questions answered from the documents the caller may read: JSON or a stream (SSE).

The stream sends ``sources`` (the numbered passages), ``token`` events as the answer is
generated, ``reset`` if generation failed midway and the answer restarts extractively,
and a final ``answer`` event carrying the validated answer, citations and its id (for
feedback). Each answer is recorded with its quality signals; in a conversation both
messages are stored too.

Memory (docs/memory.md): a follow-up is rewritten into a standalone query using the
conversation (``search_query`` in the answer), the conversation and the caller's relevant
long-term memories go into the prompt as context, and "remember that ..." is stored and
acknowledged without retrieval. After the response, facts the caller stated about
themselves may be extracted by the LLM (a background task: it never delays or fails the
answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import StreamingResponse

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import AnswerOut, ChatRequest, MemoryOut, PassageOut
from kenning.auth.models import Caller
from kenning.memory import Conversation, acknowledgement
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
def chat(
    body: ChatRequest, caller: Reader, comps: ComponentsDep, background: BackgroundTasks
) -> AnswerOut | StreamingResponse:
    """Answer ``question`` with citations; ``stream: true`` for server-sent events.

    In a conversation (``conversation_id``), a follow-up is understood from the earlier
    turns; "remember that ..." stores a long-term memory (see ``/v1/memories``)."""
    conv = _conversation(comps, caller, body)
    tenant, username = caller.user.tenant, caller.user.username
    memory = comps.conversation_memory
    remembered = memory.remember(tenant, username, body.question)
    if remembered is not None:
        return _acknowledge(
            comps, conv, body, acknowledgement(remembered), remembered=MemoryOut.of(remembered)
        )
    forgetting = memory.forget(tenant, username, body.question)
    if forgetting is not None:
        gone = forgetting.memory
        return _acknowledge(
            comps, conv, body, forgetting.reply, forgotten=MemoryOut.of(gone) if gone else None
        )
    started = time.perf_counter()  # the rewrite is part of the answer's latency
    recall, _ = memory.recall(tenant, username, conv, body.question)
    background.add_task(memory.learn, tenant, username, body.question)
    flt = body.filter.to_filter() if body.filter else None
    if not body.stream:
        answer = comps.assistant.ask(
            body.question, principal=caller.principal, filter=flt, recall=recall
        )
        return _record(comps, caller, conv, answer, started)
    events = comps.assistant.stream(
        body.question, principal=caller.principal, filter=flt, recall=recall
    )
    return StreamingResponse(
        _sse(events, lambda a: _record(comps, caller, conv, a, started)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _acknowledge(
    comps: Components,
    conv: Conversation,
    body: ChatRequest,
    reply: str,
    *,
    remembered: MemoryOut | None = None,
    forgotten: MemoryOut | None = None,
) -> AnswerOut | StreamingResponse:
    """The reply to "remember that ..." or "forget that ...": done, said so, nothing
    retrieved."""
    comps.conversations.record_note(conv, body.question, reply)
    out = AnswerOut(
        answer_id=None,
        conversation_id=conv.id,
        question=body.question,
        text=reply,
        mode="memory",
        abstained=False,
        citations=[],
        sources=[],
        groundedness=0.0,
        evidence=0.0,
        model=None,
        notice=None,
        remembered=remembered,
        forgotten=forgotten,
    )
    if not body.stream:
        return out
    events = (
        f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        for kind, data in (
            ("sources", []),
            ("token", {"text": reply}),
            ("answer", out.model_dump()),
        )
    )
    return StreamingResponse(events, media_type="text/event-stream")


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
