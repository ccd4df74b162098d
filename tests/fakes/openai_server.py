"""A real OpenAI-compatible HTTP server on 127.0.0.1, scripted per request, for tests.

It speaks ``POST /v1/chat/completions`` (one JSON body, or SSE shaped like OpenAI's
``chat.completion.chunk`` stream), ``POST /v1/embeddings`` and ``GET /v1/models``. It is
standard library only (``ThreadingHTTPServer`` in a background thread), so clients are
tested through real sockets, timeouts, chunked framing and dropped connections rather than
a mocked transport.

Script a test with ``server.enqueue(...)``: each request, whatever its route, consumes the
next behaviour (``Reply``, ``ToolCalls``, ``Status``, ``Hang``, ``CutStreamAfter``,
``MalformedJSON``). With the queue empty, chat requests are answered by
``server.tool_responder(request_json)`` when it is set (a scripted model of the tools
protocol: it reads the transcript and returns ``ToolCalls`` or a text), else by
``server.responder(request_json)``, and embeddings by deterministic vectors.
``server.requests`` records every request.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import socket
import socketserver
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

Responder = Callable[[dict[str, Any]], str]
"""Chat request JSON -> answer text; lets a test script an LLM that reads its prompt."""
Embed = Callable[[str], Sequence[float]]

CREATED = 1_700_000_000
"""A fixed ``created`` timestamp keeps responses deterministic."""


@dataclass(frozen=True)
class Reply:
    """Answer a chat request with ``text``; streamed ``chunk_size`` characters per chunk.

    ``delay_between_chunks`` pauses between content chunks (the first one is immediate),
    so a delay above the client's read timeout is a stall mid-stream. ``send_done=False``
    imitates servers that close the stream without ``data: [DONE]``; with
    ``finish_reason=None`` no chunk carries one.
    """

    text: str
    chunk_size: int = 8
    delay_between_chunks: float = 0.0
    finish_reason: str | None = "stop"
    send_done: bool = True


@dataclass(frozen=True)
class Status:
    """Answer with HTTP ``code``; ``body`` (any JSON value) defaults to an OpenAI error."""

    code: int
    body: Any = None
    retry_after: str | float | None = None


@dataclass(frozen=True)
class Hang:
    """Send nothing for ``seconds`` (make it longer than the client's read timeout), then
    answer as if the queue were empty, if the client is still listening."""

    seconds: float


@dataclass(frozen=True)
class CutStreamAfter:
    """Send ``n_chunks`` content chunks of the normal answer, then drop the connection.

    For a non-streaming request: the headers and half the body, then drop it.
    """

    n_chunks: int


@dataclass(frozen=True)
class MalformedJSON:
    """A 200 whose body (or, when streaming, whose first chunk) is not JSON."""


@dataclass(frozen=True)
class ToolCalls:
    """Answer with ``tool_calls`` (OpenAI's tools protocol): ``(name, arguments)`` pairs,
    arguments a JSON-able value or a raw string (to send invalid JSON). Not streamed."""

    calls: tuple[tuple[str, Any], ...]
    text: str = ""


Behaviour = Reply | Status | Hang | CutStreamAfter | MalformedJSON | ToolCalls
ToolResponder = Callable[[dict[str, Any]], "ToolCalls | str"]

BROKEN_JSON = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": ['


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: Any
    """The parsed JSON body; ``None`` for GET or a body that is not JSON."""


@dataclass
class _Stream:
    """What a streamed chat answer should look like on the wire."""

    request: dict[str, Any]
    reply: Reply
    cut_after: int | None = None
    pieces: list[str] = field(default_factory=list)


def echo_responder(request: dict[str, Any]) -> str:
    """The default answer: repeats the last user message, so tests can tell calls apart."""
    users = [m.get("content", "") for m in request.get("messages", []) if m.get("role") == "user"]
    return f"You said: {users[-1] if users else ''}"


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """The vector served for ``text``: deterministic, seeded by a hash, not normalised."""
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    rng = random.Random(seed)
    return [rng.gauss(0.0, 3.0) for _ in range(dimensions)]


def count_tokens(text: str) -> int:
    """The fake's notion of a token: a whitespace-separated word."""
    return len(text.split())


def openai_error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class FakeOpenAIServer:
    """Use as a context manager (or ``start``/``stop``); ``url`` is the client's base URL.

    ``responder``, ``dimensions``, ``embed`` and ``models`` may be changed mid-test.
    ``errors`` collects exceptions raised inside the fake itself (bugs, not client faults);
    the ``openai_server`` fixture fails a test that leaves any.
    """

    def __init__(
        self,
        *,
        responder: Responder = echo_responder,
        dimensions: int = 8,
        embed: Embed | None = None,
        models: Sequence[str] = ("fake-model",),
    ) -> None:
        self.responder = responder
        self.tool_responder: ToolResponder | None = None
        self.dimensions = dimensions
        self.embed = embed
        self.models = list(models)
        self.errors: list[BaseException] = []
        self._requests: list[RecordedRequest] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-openai-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake sleeping handlers, drop open connections, join every thread."""
        if self._httpd is None or self._thread is None:
            return
        self._closing.set()
        self._httpd.shutdown()
        with self._lock:
            live = list(self._connections)
        for conn in live:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the ``base_url`` for a client."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- scripting and inspection --------------------------------------------------------

    def enqueue(self, *behaviours: Behaviour) -> None:
        """The next requests get these behaviours, one each, in order."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Behaviours not consumed yet."""
        with self._lock:
            return len(self._script)

    # -- request handling (handler threads) ---------------------------------------------

    def _connected(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
        if self._closing.is_set():  # accepted just as ``stop`` took its snapshot
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _disconnected(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _record(self, handler: _Handler) -> RecordedRequest:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = RecordedRequest(handler.command, handler.path, headers, body)
        with self._lock:
            self._requests.append(request)
        return request

    def _next(self) -> Behaviour | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def handle(self, handler: _Handler) -> None:
        request = self._record(handler)
        behaviour = self._next()
        if isinstance(behaviour, Hang):
            if self._closing.wait(behaviour.seconds):
                handler.close_connection = True
                return
            behaviour = None
        if isinstance(behaviour, Status):
            self._send_status(handler, behaviour)
            return
        route = (request.method, request.path)
        if route == ("POST", "/v1/chat/completions"):
            self._chat(handler, request, behaviour)
        elif route == ("POST", "/v1/embeddings"):
            self._embeddings(handler, request, behaviour)
        elif route == ("GET", "/v1/models"):
            self._models(handler, behaviour)
        else:
            handler.send_json(404, openai_error(f"no route {request.method} {request.path}"))

    def _send_status(self, handler: _Handler, status: Status) -> None:
        body = status.body if status.body is not None else _default_error(status.code)
        headers = {} if status.retry_after is None else {"Retry-After": str(status.retry_after)}
        handler.send_json(status.code, body, headers)

    def _chat(
        self, handler: _Handler, request: RecordedRequest, behaviour: Behaviour | None
    ) -> None:
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            handler.send_json(400, openai_error("'messages' is a required property"))
            return
        if isinstance(behaviour, MalformedJSON) and not body.get("stream"):
            handler.send_raw(200, BROKEN_JSON)
            return
        if behaviour is None and self.tool_responder is not None:
            scripted = self.tool_responder(body)
            behaviour = Reply(scripted) if isinstance(scripted, str) else scripted
        if isinstance(behaviour, ToolCalls):
            handler.send_json(200, _tool_completion(body, behaviour))
            return
        reply = behaviour if isinstance(behaviour, Reply) else Reply(self.responder(body))
        cut = behaviour.n_chunks if isinstance(behaviour, CutStreamAfter) else None
        if body.get("stream"):
            stream = _Stream(body, reply, cut, _pieces(reply))
            _send_stream(handler, stream, self._closing, isinstance(behaviour, MalformedJSON))
        elif cut is not None:
            handler.send_truncated(json.dumps(_completion(body, reply)).encode())
        else:
            handler.send_json(200, _completion(body, reply))

    def _embeddings(
        self, handler: _Handler, request: RecordedRequest, behaviour: Behaviour | None
    ) -> None:
        if isinstance(behaviour, MalformedJSON):
            handler.send_raw(200, b'{"object": "list", "data": [')
            return
        if behaviour is not None:
            handler.send_json(500, openai_error(f"fake: {behaviour!r} does not apply here"))
            return
        body = request.body if isinstance(request.body, dict) else {}
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        dimensions = int(body.get("dimensions") or self.dimensions)
        data = [
            {"object": "embedding", "index": i, "embedding": self._vector(text, dimensions)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(count_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = body.get("model")
        handler.send_json(200, {"object": "list", "data": data, "model": model, "usage": usage})

    def _vector(self, text: str, dimensions: int) -> list[float]:
        if self.embed is not None:
            return [float(x) for x in self.embed(text)]
        return fake_embedding(text, dimensions)

    def _models(self, handler: _Handler, behaviour: Behaviour | None) -> None:
        if isinstance(behaviour, MalformedJSON):
            handler.send_raw(200, b'{"object": "list", "data": [')
            return
        data = [
            {"id": m, "object": "model", "created": CREATED, "owned_by": "kenning-fake"}
            for m in self.models
        ]
        handler.send_json(200, {"object": "list", "data": data})


def _default_error(code: int) -> dict[str, Any]:
    kinds = {429: "rate_limit_exceeded", 401: "invalid_api_key", 404: "not_found_error"}
    kind = kinds.get(code, "server_error" if code >= 500 else "invalid_request_error")
    return openai_error(f"fake server says {code}", kind)


def _pieces(reply: Reply) -> list[str]:
    size = max(reply.chunk_size, 1)
    return [reply.text[i : i + size] for i in range(0, len(reply.text), size)]


def _usage(request: dict[str, Any], completion: str) -> dict[str, int]:
    prompt = sum(count_tokens(str(m.get("content", ""))) for m in request["messages"])
    done = count_tokens(completion)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A ``chat.completion`` object as OpenAI shapes it."""
    message = {"role": "assistant", "content": reply.text, "refusal": None}
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.finish_reason,
    }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": request.get("model", "fake-model"),
        "system_fingerprint": "fp_fake",
        "choices": [choice],
        "usage": _usage(request, reply.text),
    }


def _tool_completion(request: dict[str, Any], calls: ToolCalls) -> dict[str, Any]:
    """A ``chat.completion`` whose message calls tools, ids ``call_<n>`` unique per server."""
    tool_calls = [
        {
            "id": f"call_{next(_CALL_IDS)}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            },
        }
        for name, arguments in calls.calls
    ]
    body = _completion(request, Reply(calls.text, finish_reason="tool_calls"))
    body["choices"][0]["message"]["content"] = calls.text or None
    body["choices"][0]["message"]["tool_calls"] = tool_calls
    return body


_CALL_IDS = itertools.count(1)


def _chunk(request: dict[str, Any], choices: list[dict[str, Any]], **extra: Any) -> bytes:
    """One SSE event holding a ``chat.completion.chunk``."""
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": request.get("model", "fake-model"),
        "system_fingerprint": "fp_fake",
        "choices": choices,
        **extra,
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _delta(request: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return _chunk(request, [choice])


def _tail(stream: _Stream) -> Iterator[bytes]:
    """After the content: the finish chunk, the usage chunk (if asked for), ``[DONE]``."""
    request, reply = stream.request, stream.reply
    if reply.finish_reason is not None:
        yield _delta(request, {}, reply.finish_reason)
    if (request.get("stream_options") or {}).get("include_usage"):
        yield _chunk(request, [], usage=_usage(request, reply.text))
    if reply.send_done:
        yield b"data: [DONE]\n\n"


def _send_stream(
    handler: _Handler, stream: _Stream, closing: threading.Event, malformed: bool
) -> None:
    """Role chunk, content chunks (with delays), tail; or stop where the script says."""
    handler.start_chunked()
    handler.write_chunk(b": keep-alive comment, as some servers send\n\n")
    handler.write_chunk(_delta(stream.request, {"role": "assistant", "content": ""}))
    if malformed:
        handler.write_chunk(b"data: " + BROKEN_JSON + b"\n\n")
    for i, piece in enumerate(stream.pieces):
        if stream.cut_after is not None and i >= stream.cut_after:
            handler.drop()
            return
        if (
            i
            and stream.reply.delay_between_chunks
            and closing.wait(stream.reply.delay_between_chunks)
        ):
            handler.drop()
            return
        handler.write_chunk(_delta(stream.request, {"content": piece}))
    if stream.cut_after is not None:  # asked to cut after more chunks than there are
        handler.drop()
        return
    for event in _tail(stream):
        handler.write_chunk(event)
    handler.end_chunked()


class _Handler(BaseHTTPRequestHandler):
    """Thin: parses HTTP and offers write primitives; ``FakeOpenAIServer`` decides."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # backstop: ``stop`` shuts idle keep-alive sockets down long before

    @property
    def fake(self) -> FakeOpenAIServer:
        return cast(_HTTPServer, self.server).fake

    def setup(self) -> None:
        super().setup()
        self.fake._connected(self.connection)

    def finish(self) -> None:
        self.fake._disconnected(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.fake.handle(self)

    def do_POST(self) -> None:
        self.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr line."""

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(body).encode(), headers)

    def send_raw(
        self, status: int, payload: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_truncated(self, payload: bytes) -> None:
        """Promise the whole body, deliver half, hang up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.drop()

    def start_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """End the connection without finishing the body: the client sees a cut."""
        self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeOpenAIServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Skip ``HTTPServer``'s reverse DNS lookup of the host: it can be slow."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal here; anything else is a bug in the fake."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        if exc is not None:
            self.fake.errors.append(exc)
        super().handle_error(request, client_address)
