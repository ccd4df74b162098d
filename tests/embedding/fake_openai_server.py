"""A real HTTP server on 127.0.0.1 that speaks the OpenAI ``POST /v1/embeddings`` protocol.

Standard library only (``http.server`` in a background thread), so the client is tested
through real sockets, headers and JSON rather than a mocked transport. Replies are scripted:
queue special ones with ``enqueue``; otherwise the server answers with deterministic,
deliberately *unnormalised* vectors per text, listed in shuffled ``index`` order.
"""

from __future__ import annotations

import json
import random
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import numpy.typing as npt


def fake_vector(text: str, dimensions: int) -> npt.NDArray[np.float32]:
    """The vector the fake server returns for ``text``: deterministic, norm well above 1."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    return (rng.normal(size=dimensions) * 3.0).astype(np.float32)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class FakeEmbeddingsServer:
    """Use as a context manager; ``url`` is the ``base_url`` to give the client."""

    def __init__(self, dimensions: int = 8, *, shuffle: bool = True) -> None:
        self.dimensions = dimensions
        self.shuffle = shuffle
        self.requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def enqueue(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """The next request gets this reply instead of the normal one (FIFO)."""
        with self._lock:
            self._script.append(Reply(status, body, headers or {}))

    def __enter__(self) -> FakeEmbeddingsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def normal_reply(self, body: Any) -> Reply:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": fake_vector(t, self.dimensions).tolist(),
            }
            for i, t in enumerate(texts)
        ]
        if self.shuffle:
            random.Random(len(self.requests)).shuffle(data)
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return Reply(200, {"object": "list", "data": data, "model": body["model"], "usage": usage})

    def _respond(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append(RecordedRequest(path, headers, body, time.monotonic()))
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted
        if path != "/v1/embeddings":
            return Reply(404, {"error": {"message": f"no route {path}"}})
        return self.normal_reply(body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake._respond(self.path, headers, raw)
                payload = json.dumps(reply.body).encode() if reply.body is not None else b""
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default per-request stderr line."""

        return Handler


@contextmanager
def fake_embeddings_server(dimensions: int = 8) -> Iterator[FakeEmbeddingsServer]:
    with FakeEmbeddingsServer(dimensions) as server:
        yield server
