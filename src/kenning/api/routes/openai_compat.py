"""An OpenAI-compatible face: ``/v1/models`` and ``/v1/chat/completions``.

Any OpenAI client or chat UI can use Kenning as a "model": the last user message is the
question, the answer is grounded in the caller's documents, and the citations travel in
an extra ``citations`` field (clients that do not know it ignore it). Authenticate with
an API key as the OpenAI API key. Streaming follows the OpenAI chunk format; if the LLM
fails midway, the stream continues with the extractive answer after a visible notice,
because an OpenAI stream cannot take back text already sent.

The earlier user/assistant messages are the conversation (docs/memory.md): a follow-up is
rewritten into a standalone query from them, they reach the prompt within the history
budget, and the caller's relevant long-term memories are added.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import CitationOut
from kenning.auth.models import Caller
from kenning.errors import InvalidInputError, NotFoundError
from kenning.memory import Recall, Turn
from kenning.pipelines.answering import EventKind
from kenning.types import Answer
from kenning.wiring import Components

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "kenning"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=32)
    content: str | list[dict[str, Any]] | None = None


class CompletionRequest(BaseModel):
    """The fields Kenning uses; every other OpenAI field is accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(default=MODEL_ID, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.get("/models")
def models(caller: Reader) -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID, created=0, owned_by="kenning")])


@router.get("/models/{model_id}")
def model(model_id: str, caller: Reader) -> ModelCard:
    if model_id != MODEL_ID:
        raise NotFoundError(f"no model {model_id!r}; this server offers {MODEL_ID!r}")
    return ModelCard(id=MODEL_ID, created=0, owned_by="kenning")


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content.strip()
    parts = message.content or []
    return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text").strip()


def _question(body: CompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user" and _text(message):
            return _text(message)[:4000]
    raise InvalidInputError("no user message with text content")


def _turns(body: CompletionRequest) -> list[Turn]:
    """The user/assistant pairs before the last user message (system messages aside)."""
    said = [(m.role, _text(m)) for m in body.messages if m.role in ("user", "assistant")]
    while said and said[-1][0] != "user":
        said.pop()
    turns: list[Turn] = []
    question: str | None = None
    for role, text in said[:-1]:
        if role == "user":
            question = text
        elif question is not None:
            turns.append(Turn(question[:4000], text))
            question = None
    return turns


def _recall(comps: Components, caller: Caller, body: CompletionRequest, question: str) -> Recall:
    recall, _ = comps.conversation_memory.recall_turns(
        caller.user.tenant, caller.user.username, _turns(body), question
    )
    return recall


@router.post(
    "/chat/completions",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}, "description": "with stream=true"}},
)
def chat_completions(
    body: CompletionRequest, caller: Reader, comps: ComponentsDep
) -> dict[str, Any] | StreamingResponse:
    question = _question(body)
    started = time.perf_counter()  # the rewrite is part of the answer's latency
    recall = _recall(comps, caller, body, question)
    if not body.stream:
        answer = comps.assistant.ask(question, principal=caller.principal, recall=recall)
        answer_id = _record(comps, caller, answer, started)
        return {
            "id": f"chatcmpl-{answer_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            "citations": _citations(answer),
            "kenning": {
                "answer_id": answer_id,
                "mode": answer.mode.value,
                "groundedness": answer.groundedness,
            },
        }
    return StreamingResponse(
        _stream(comps, caller, question, recall, started),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _stream(
    comps: Components, caller: Caller, question: str, recall: Recall, started: float
) -> Iterator[str]:
    created = int(time.time())
    chunk_id = f"chatcmpl-{int(started * 1e6):x}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    for event in comps.assistant.stream(question, principal=caller.principal, recall=recall):
        if event.kind is EventKind.TOKEN:
            streamed = True
            yield chunk({"content": event.text})
        elif event.kind is EventKind.RESET and streamed:
            yield chunk({"content": "\n\n[generation failed; answer from the documents:]\n\n"})
        elif event.kind is EventKind.ANSWER and event.answer is not None:
            answer = event.answer
            if not streamed:  # extractive or abstained: the text arrives whole
                yield chunk({"content": answer.text})
            answer_id = _record(comps, caller, answer, started)
            yield chunk(
                {},
                "stop",
                citations=_citations(answer),
                kenning={"answer_id": answer_id, "mode": answer.mode.value},
            )
    yield "data: [DONE]\n\n"


def _record(comps: Components, caller: Caller, answer: Answer, started: float) -> str:
    return comps.recorder.record(
        caller.user.tenant, caller.user.username, None, answer, time.perf_counter() - started
    )


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [CitationOut.of(c).model_dump() for c in answer.citations]


def _usage(answer: Answer) -> dict[str, int]:
    prompt = int(answer.usage.get("prompt_tokens", 0))
    completion = int(answer.usage.get("completion_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
