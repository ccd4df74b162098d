"""A real HTTP API on 127.0.0.1 that records requests: a helpdesk, a company API, a flaky
endpoint. Standard library only, like ``openai_server``.

``handler(request) -> (status, json_body)`` decides each answer; ``fail_next(n, status)``
and ``hang_next(n, seconds)`` make the next ``n`` requests fail or stall first, so
retries, timeouts and circuit breakers are tested against real sockets.
"""

from __future__ import annotations

import itertools
import json
import socketserver
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-cased names."""
    body: Any


Handler = Callable[[Recorded], tuple[int, Any]]


class RecordingAPI:
    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or (lambda request: (200, {"ok": True}))
        self.requests: list[Recorded] = []
        self._script: deque[tuple[str, float]] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RecordingAPI:
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._httpd is not None
        assert self._thread is not None
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._script.extend([("status", float(status))] * n)

    def hang_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._script.extend([("hang", seconds)] * n)

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def handle(self, raw: BaseHTTPRequestHandler) -> tuple[int, Any]:
        length = int(raw.headers.get("Content-Length") or 0)
        data = raw.rfile.read(length) if length else b""
        parts = urlsplit(raw.path)
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        request = Recorded(
            raw.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in raw.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(request)
            step = self._script.popleft() if self._script else None
        if step is not None and step[0] == "hang" and self._closing.wait(step[1]):
            return 503, {"error": "shutting down"}
        if step is not None and step[0] == "status":
            return int(step[1]), {"error": "scripted failure"}
        return self.handler(request)


def helpdesk_handler() -> Handler:
    """A helpdesk: ``POST /tickets`` and ``POST /escalations`` create numbered records."""
    numbers = itertools.count(1)

    def handle(request: Recorded) -> tuple[int, Any]:
        if request.method == "POST" and request.path in ("/tickets", "/escalations"):
            kind = "T" if request.path == "/tickets" else "E"
            return 201, {"id": f"{kind}-{next(numbers)}", "status": "open"}
        return 404, {"error": f"no route {request.method} {request.path}"}

    return handle


class _RawHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        api = cast(_Server, self.server).api
        status, body = api.handle(self)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: RecordingAPI) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _RawHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) hangs up mid-answer: that is expected."""
