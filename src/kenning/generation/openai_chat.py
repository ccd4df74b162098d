"""Chat completions from any OpenAI-compatible server: ``POST {base_url}/chat/completions``.

Works with vLLM, llama.cpp's server, Ollama, LocalAI and OpenAI, both as one JSON response
and as a server-sent-event stream. On top of the wire protocol the client keeps the ``LLM``
contract (``kenning.generation.base``):

- 429, 500, 502, 503, 504, timeouts and connection failures are retried at most
  ``max_retries`` times, after exponential backoff with jitter or after exactly the
  server's ``Retry-After`` (seconds or HTTP date). A ``Retry-After`` longer than
  ``max_retry_wait_s`` is an immediate error: a user is waiting and the caller has a
  fallback, so blocking would be the worst of both.
- A stream is retried only until its first event reaches the caller.
- Anything else (another 4xx, a body that is not JSON or has no choices, an error chunk, a
  stream that stops before ``[DONE]`` without a ``finish_reason``) is a
  ``RemoteModelError`` saying what happened, with the HTTP status when there was one.
- The API key only travels in the ``Authorization`` header; it is a ``SecretStr`` and is
  never part of an exception, a ``repr`` or a log line.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from kenning._http import parse_retry_after
from kenning.errors import ConfigurationError, RemoteModelError
from kenning.generation.base import (
    ChatMessage,
    Completion,
    StreamEvent,
    ToolCall,
    ToolTurn,
    Usage,
)
from kenning.settings import LLMSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
"""Failures after which the request may simply not have reached a healthy server."""
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0
DONE = "[DONE]"


class _WireUsage(BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _WireFunction(BaseModel):
    name: str
    arguments: str = ""


class _WireToolCall(BaseModel):
    id: str
    function: _WireFunction


class _WireMessage(BaseModel):
    content: str | None = None
    tool_calls: list[_WireToolCall] | None = None


class _WireChoice(BaseModel):
    message: _WireMessage | None = None
    delta: _WireMessage | None = None
    finish_reason: str | None = None


class _WireBody(BaseModel):
    """The fields read from a ``chat.completion`` or a ``chat.completion.chunk``.

    Everything else is ignored so that servers adding fields never break the client.
    """

    choices: list[_WireChoice] | None = None
    usage: _WireUsage | None = None
    model: str | None = None


class _TransientError(Exception):
    """A failure worth another attempt; becomes a ``RemoteModelError`` once retries run out."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def iter_sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each server-sent event, multi-line data joined by newlines.

    Comments (``: keep-alive``) and other fields (``event:``, ``id:``) are skipped. A last
    event not followed by a blank line is still delivered: some servers end that way.
    """
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
            data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def _excerpt(text: str | bytes, limit: int = 200) -> str:
    """A short one-line piece of a body, for error messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _error_message(data: Any) -> str | None:
    """The human part of an error body: OpenAI's ``{"error": {"message"}}`` and variants."""
    if not isinstance(data, dict):
        return None
    error = data.get("error") or data.get("detail") or data.get("message")
    if isinstance(error, dict):
        error = error.get("message")
    return _excerpt(str(error)) if error else None


def _http_error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    return _error_message(data) or _excerpt(response.text) or response.reason_phrase


def _decode(raw: str | bytes, url: str) -> _WireBody:
    """Parse one JSON document from the server, or say clearly why it is unusable."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RemoteModelError(f"the server sent invalid JSON: {_excerpt(raw)!r} [{url}]") from exc
    if isinstance(data, dict) and data.get("error"):
        raise RemoteModelError(f"the server reported an error: {_error_message(data)} [{url}]")
    try:
        return _WireBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise RemoteModelError(
            f"unexpected response shape: {field}: {first['msg']} [{url}]"
        ) from exc


def _usage(wire: _WireUsage | None) -> Usage | None:
    if wire is None or wire.prompt_tokens is None or wire.completion_tokens is None:
        return None
    return Usage(wire.prompt_tokens, wire.completion_tokens)


def _event(body: _WireBody) -> StreamEvent | None:
    """The event a chunk carries; ``None`` for chunks with nothing in them (role-only)."""
    choice = body.choices[0] if body.choices else None
    delta = choice.delta if choice else None
    event = StreamEvent(
        text=(delta.content if delta else None) or "",
        usage=_usage(body.usage),
        finish_reason=choice.finish_reason if choice else None,
    )
    return None if event == StreamEvent() else event


def _backoff(retry: int) -> float:
    """Exponential with "equal jitter": the fixed half makes it really back off, the random
    half keeps clients that failed together from retrying together."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** (retry - 1))
    return ceiling / 2 + random.uniform(0.0, ceiling / 2)


def _endpoint(base_url: str | None) -> str:
    """``{base_url}/chat/completions``; settings that can never work fail at construction."""
    if not base_url:
        raise ConfigurationError("llm.base_url is not set (KENNING_LLM__BASE_URL)")
    try:
        url = httpx.URL(base_url.rstrip("/") + "/chat/completions")
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"llm.base_url {base_url!r} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"llm.base_url {base_url!r} must be an http(s) URL")
    return str(url)


class OpenAIChat:
    """Client for an OpenAI-compatible chat server; see the module docstring.

    ``transport`` injects an ``httpx`` transport (tests, proxies, ASGI apps). ``sleep`` is
    how retries wait, injectable so tests can check the pauses without sitting through
    them. One ``httpx.Client`` (thread-safe, pooled) is opened lazily and shared by all
    threads; ``close()`` releases it.
    """

    def __init__(
        self,
        settings: LLMSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = settings.model
        self._settings = settings
        self._url = _endpoint(settings.base_url)
        self._transport = transport
        self._sleep = sleep
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"OpenAIChat(url={self._url!r}, model={self.name!r})"

    def warm_up(self) -> None:
        """Open the connection pool; no request is sent (servers differ in health routes)."""
        self._http()

    def close(self) -> None:
        """Close pooled connections; the client reopens them if used again."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> OpenAIChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Completion:
        """The whole answer in one response; see ``LLM`` for errors and retries."""
        payload = self._payload(messages, max_tokens, temperature, stream=False)
        body = self._with_retries(lambda: self._post_json(payload))
        if not body.choices:
            raise RemoteModelError(f"the response has no choices [{self._url}]")
        message = body.choices[0].message
        if message is None:
            raise RemoteModelError(f"the response has a choice without a message [{self._url}]")
        return Completion(
            text=message.content or "",
            usage=_usage(body.usage),
            finish_reason=body.choices[0].finish_reason,
            model=body.model or self.name,
        )

    def complete_with_tools(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
    ) -> ToolTurn:
        """One turn under the tools protocol (``ToolCallingLLM``); not streamed, since the
        agent needs the whole turn to know whether it calls tools."""
        payload: dict[str, Any] = {
            "model": self.name,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if tools:
            payload["tools"] = [dict(t) for t in tools]
            payload["tool_choice"] = "auto"
        body = self._with_retries(lambda: self._post_json(payload))
        if not body.choices or body.choices[0].message is None:
            raise RemoteModelError(f"the response has no message [{self._url}]")
        message = body.choices[0].message
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()
        )
        return ToolTurn(
            text=message.content or "",
            tool_calls=calls,
            usage=_usage(body.usage),
            finish_reason=body.choices[0].finish_reason,
            model=body.model or self.name,
        )

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Generator[StreamEvent, None, None]:
        """Deltas as the server produces them; retried only before the first event.

        A generator, so a caller that stops early can ``close()`` it to free the connection
        at once rather than when it is garbage-collected.
        """
        payload = self._payload(messages, max_tokens, temperature, stream=True)
        response, events = self._with_retries(lambda: self._open_stream(payload))
        try:
            yield from self._without_retries(events)
        finally:
            response.close()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    transport=self._transport, timeout=self._timeout(), headers=self._headers()
                )
            return self._client

    def _timeout(self) -> httpx.Timeout:
        """Waiting for a pooled connection is like connecting; a write stalls only while the
        server is not reading, which deserves the same patience as waiting for its answer."""
        s = self._settings
        return httpx.Timeout(
            connect=s.connect_timeout_s,
            read=s.read_timeout_s,
            write=s.read_timeout_s,
            pool=s.connect_timeout_s,
        )

    def _headers(self) -> dict[str, str]:
        if self._settings.api_key is None:
            return {}
        return {"Authorization": f"Bearer {self._settings.api_key.get_secret_value()}"}

    def _payload(
        self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float, *, stream: bool
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": stream,
        }
        if stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    def _post_json(self, payload: dict[str, Any]) -> _WireBody:
        response = self._http().post(self._url, json=payload)
        self._raise_for_status(response)
        return _decode(response.content, self._url)

    def _open_stream(self, payload: dict[str, Any]) -> tuple[httpx.Response, Iterator[StreamEvent]]:
        """Send the request and read up to the first event: the part that may be retried."""
        client = self._http()
        response = client.send(client.build_request("POST", self._url, json=payload), stream=True)
        try:
            self._raise_for_status(response)
            events = self._events(response)
            first = next(events, None)
        except BaseException:
            response.close()
            raise
        return response, itertools.chain([first] if first else [], events)

    def _events(self, response: httpx.Response) -> Iterator[StreamEvent]:
        """Events until ``[DONE]``; a stream that just stops raises ``_TransientError``."""
        for data in iter_sse_data(response.iter_lines()):
            if data == DONE:
                return
            event = _event(_decode(data, self._url))
            if event is not None:
                yield event
        raise _TransientError("the stream ended before [DONE]")

    def _without_retries(self, events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        """Relay events; from here on a failure is final (see ``LLM``). A stream that breaks
        after its ``finish_reason`` lost nothing but usage, so it is accepted."""
        count, finished = 0, False
        try:
            for event in events:
                count, finished = count + 1, finished or event.finish_reason is not None
                yield event
        except (_TransientError, httpx.HTTPError) as exc:
            reason = exc.reason if isinstance(exc, _TransientError) else self._describe(exc)
            if not finished:
                raise RemoteModelError(
                    f"the stream broke off after {count} events: {reason} [{self._url}]"
                ) from exc
            logger.warning("stream from %s ended badly after finishing: %s", self._url, reason)

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        response.read()
        code = response.status_code
        detail = f"HTTP {code}: {_http_error_detail(response)}"
        if code in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _TransientError(detail, status=code, retry_after=retry_after)
        raise RemoteModelError(f"{detail} [{self._url}]", status=code)

    def _with_retries(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the retries are spent."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return attempt()
            except _TransientError as exc:
                failure = exc
            except RETRY_TRANSPORT_ERRORS as exc:
                failure = _TransientError(self._describe(exc))
                failure.__cause__ = exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise RemoteModelError(f"{self._describe(exc)} [{self._url}]") from exc
            self._pause_or_give_up(failure, attempts)

    def _pause_or_give_up(self, failure: _TransientError, attempts: int) -> None:
        """Sleep before the next attempt, or raise when no retry is left or allowed."""
        limit, max_wait = self._settings.max_retries, self._settings.max_retry_wait_s
        if attempts > limit:
            raise RemoteModelError(
                f"{failure.reason}; gave up after {attempts} attempts [{self._url}]",
                status=failure.status,
            ) from failure
        if failure.retry_after is not None and failure.retry_after > max_wait:
            raise RemoteModelError(
                f"{failure.reason}; the server asks to retry in {failure.retry_after:g} s, "
                f"more than llm.max_retry_wait_s={max_wait:g} [{self._url}]",
                status=failure.status,
            ) from failure
        pause = failure.retry_after if failure.retry_after is not None else _backoff(attempts)
        logger.warning(
            "chat request to %s failed (%s); retry %d of %d in %.2f s",
            self._url,
            failure.reason,
            attempts,
            limit,
            pause,
        )
        self._sleep(pause)

    def _describe(self, exc: Exception) -> str:
        """Transport failures in an operator's words, naming the setting that applied."""
        s = self._settings
        if isinstance(exc, httpx.ConnectTimeout):
            return f"timed out connecting (llm.connect_timeout_s={s.connect_timeout_s:g})"
        if isinstance(exc, httpx.ReadTimeout):
            return f"timed out waiting for the server (llm.read_timeout_s={s.read_timeout_s:g})"
        if isinstance(exc, httpx.TimeoutException):
            return f"timed out ({type(exc).__name__})"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect ({exc})"
        return f"{type(exc).__name__}: {exc}"
