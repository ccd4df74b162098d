"""One ASGI middleware per request: request id, latency metric, access line.

- Request id: the client's ``X-Request-ID`` if it is a short token, else a new one; set
  for the logs of the request and echoed in the response.
- The HTTP server span is FastAPI's own (native OpenTelemetry since 0.16x: named
  ``METHOD /route/{template}``, a child of the caller's W3C ``traceparent``, wrapping
  every middleware), so it is current here and the access line carries its trace id.
- Metric: ``kenning_http_request_duration_seconds{method,route,status}``, timed until the
  last body byte is sent, so a streamed answer counts its whole duration. The route is
  the template Starlette matched; unmatched paths are one ``unmatched`` label, so
  scanners cannot blow up the series count.
- Log: one ``request`` line with method, route, status and milliseconds (never the
  query string or headers, which may carry credentials).
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kenning.observability.logging import REQUEST_ID
from kenning.observability.metrics import Metrics

log = logging.getLogger("kenning.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Observe:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")
        if not _REQUEST_ID.match(request_id):
            request_id = secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(method, route, status, elapsed)
            log.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            REQUEST_ID.reset(token)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
