"""The LLM interface: chat messages in, a completion (or a stream of deltas) out.

The answering pipeline only ever talks to an ``LLM``; it never sees HTTP. The contract is
written on the protocol below so that every backend (the OpenAI-compatible client today, a
local model tomorrow) fails and streams the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of the conversation sent to the model."""

    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens as counted by the server; the only count that matches what it bills and fits."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Completion:
    """A whole answer.

    ``usage`` is ``None`` when the server did not report it. ``finish_reason`` is the
    server's word: ``"stop"`` for a natural end, ``"length"`` when ``max_tokens`` cut the
    answer short (worth telling the user), ``None`` if the server sent none.
    """

    text: str
    usage: Usage | None
    finish_reason: str | None
    model: str


@dataclass(frozen=True)
class StreamEvent:
    """A piece of a streamed answer: a text delta, and/or the closing metadata."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


@runtime_checkable
class LLM(Protocol):
    """A chat model. Contract for every backend:

    Lifecycle
        The constructor is cheap. ``warm_up()`` opens connections or loads weights; it is
        idempotent and the first request calls it implicitly, so it only moves latency to
        start-up. ``name`` is the model's name as the backend reports it in logs and metrics.

    Requests
        ``messages`` are sent in order. ``max_tokens`` bounds the answer (prompt excluded);
        ``temperature`` is passed through. Callers fit the prompt under the model's context
        window before calling; a backend does not truncate silently.

    Errors
        Every failure to get an answer raises ``kenning.errors.RemoteModelError`` and
        nothing else escapes: no transport, JSON or validation exceptions. ``.status`` is the
        HTTP status when the server answered with one (429, 503, 400...), else ``None``
        (timeout, refused connection, malformed body). The message says what went wrong in
        words an operator can act on and never contains credentials. Callers therefore need
        exactly one ``except`` to fall back to an extractive answer.

    Retries
        Transient failures (rate limits, overload, timeouts, refused connections) are
        retried inside the call, within the backend's configured budget, with backoff. A
        server asking to wait longer than the configured maximum is not waited for: the
        error is raised at once, because a user is waiting and the caller has a fallback.

    Streaming
        ``stream`` is lazy: nothing is sent until the first ``next()``. It retries only
        until its first event has been yielded. After that, any failure (connection cut,
        stall beyond the read timeout, a broken chunk, the stream ending without its
        terminator and without a ``finish_reason``) raises ``RemoteModelError`` and is not
        retried: text already shown cannot be taken back, and a fresh attempt would repeat
        or contradict it. The caller decides what to do with the partial answer.

        Events carry text deltas in order; concatenating their ``text`` gives what
        ``complete`` would have returned. Events with nothing in them are never yielded.
        ``finish_reason`` arrives on one of the last events; ``usage`` usually on the very
        last, or never if the server does not report it. A caller that stops early
        releases the connection by closing the iterator (backends return generators) or by
        dropping it.
    """

    name: str

    def warm_up(self) -> None: ...

    def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[StreamEvent]: ...


@dataclass(frozen=True)
class ToolCall:
    """A function the model asks to call: ``arguments`` is its JSON text, unparsed, because
    models do send invalid JSON and the agent must answer that as a tool error."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolTurn:
    """One assistant turn under the tools protocol: text, tool calls, or both."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage | None
    finish_reason: str | None
    model: str


@runtime_checkable
class ToolCallingLLM(Protocol):
    """A chat model that speaks OpenAI's tools protocol (``tools`` in, ``tool_calls`` out).

    ``messages`` are wire-format dicts (``system``/``user``/``assistant`` with
    ``tool_calls``/``tool`` with ``tool_call_id``), because a tool transcript does not fit
    ``ChatMessage``. Errors and retries follow the ``LLM`` contract: ``RemoteModelError``
    and nothing else.
    """

    name: str

    def complete_with_tools(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
    ) -> ToolTurn: ...
