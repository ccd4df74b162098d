"""A ``/metrics`` endpoint for processes that serve no API: ``kenning worker``.

Workers write chunks and finish jobs, so their ingestion counters live in their own
process; Prometheus scrapes each worker pod on ``worker.metrics_port`` as it scrapes the
API. The access rule is the API's (``api/routes/metrics.py``): with
``observability.metrics_token`` set a scraper presents it as a bearer token, without one
only loopback clients are answered, because the collectors read every tenant's jobs.
The server is the standard library's WSGI server on a daemon thread, one thread per
scrape (a slow scraper never blocks another), with prometheus_client's WSGI app inside.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from kenning.observability.access import Scrape, scrape_access
from kenning.observability.metrics import Metrics

StartResponse = Callable[..., Any]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access line per scrape on stderr (the worker's logs are structured JSON)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def guarded_app(metrics: Metrics, token: str | None) -> Callable[..., Iterable[bytes]]:
    """The exposition app behind the bearer-token-or-loopback rule, on ``/metrics`` only."""
    inner = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            return _refuse(start_response, "404 Not Found", "only /metrics is served here")
        access = scrape_access(
            token, str(environ.get("HTTP_AUTHORIZATION", "")), str(environ.get("REMOTE_ADDR", ""))
        )
        if access is Scrape.BAD_TOKEN:
            return _refuse(start_response, "401 Unauthorized", "metrics bearer token needed")
        if access is Scrape.NOT_LOOPBACK:
            return _refuse(
                start_response,
                "403 Forbidden",
                "set observability.metrics_token to scrape a worker from another host",
            )
        result: Iterable[bytes] = inner(environ, start_response)
        return result

    return app


def serve_metrics(metrics: Metrics, host: str, port: int, token: str | None) -> WSGIServer:
    """Start serving on a daemon thread; ``server.shutdown()`` stops it. ``port`` 0 picks a
    free port (``server.server_port`` says which)."""
    server = make_server(
        host, port, guarded_app(metrics, token), _ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="kenning-metrics", daemon=True).start()
    return server


def _refuse(start_response: StartResponse, status: str, message: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [message.encode() + b"\n"]

