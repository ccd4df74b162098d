"""Structured logs: one JSON object a line, with request id and trace id, secrets redacted.

Every record passes two filters on Kenning's handler:
- ``ContextFilter`` adds ``request_id`` (set by the HTTP middleware for the request being
  served) and ``trace_id``/``span_id`` of the current span, so a log line leads to its
  trace and the other lines of the same request.
- ``RedactingFilter`` renders the message and replaces anything shaped like a secret:
  bearer credentials, Kenning API keys (``kn_…``), JWTs, OpenAI-style keys, credentials
  in URLs, and the value of any ``password=``/``"api_key": …``/``Authorization: …``
  pair. Tracebacks are redacted the same way by the formatters.

Redaction is the last line of defence, not the first: Kenning never logs request bodies
or headers, and settings hold secrets as ``SecretStr``. ``kenning serve`` also turns
uvicorn's access log off (it prints query strings) in favour of the middleware's line.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import IO, Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from kenning.settings import LogFormat, ObservabilitySettings

REQUEST_ID: ContextVar[str | None] = ContextVar("kenning_request_id", default=None)
REDACTED = "[REDACTED]"

_SENSITIVE_KEYS = (
    r"password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|credentials?"
    r"|jwt[_-]?secret|access[_-]?token|refresh[_-]?token|client[_-]?secret|dsn"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "password": "x y", 'api_key': 'x', Authorization: Bearer x, password=x y (unquoted
    # values run to the next , ; & } ] or line end: a passphrase may contain spaces).
    (
        re.compile(
            rf"""(?i)(["']?\b[\w-]*(?:{_SENSITIVE_KEYS})[\w-]*["']?\s*[:=]\s*)"""
            r"""(?:"[^"\n]*"|'[^'\n]*'|[^,;&}\]\n]+)"""
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\bkn_[A-Za-z0-9_-]{8,}"), f"kn_{REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), f"sk-{REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)"), rf"\1{REDACTED}\2"),
)


def redact(text: str) -> str:
    """``text`` with every secret-shaped substring replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
        record.span_id = format(context.span_id, "016x") if context.is_valid else None
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class _RedactExceptions(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - the logging API's name
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


class JsonLogFormatter(JsonFormatter):
    """``{"time", "level", "logger", "message", "request_id", "trace_id", ...}`` a line."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - the logging API's name
        return redact(logging.Formatter.formatException(self, ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(logging.Formatter.formatStack(self, stack_info))

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s"
            " %(span_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )


class TextLogFormatter(_RedactExceptions):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(trace_id)s] %(message)s"
        )


_installed: logging.Handler | None = None


def configure_logging(
    settings: ObservabilitySettings, stream: IO[str] | None = None, *, exclusive: bool = False
) -> logging.Handler:
    """Route every logger through one redacting handler on the root logger.

    Called by the process entry point (``kenning serve``, with ``exclusive``: every other
    root handler is removed, so no unredacted copy of a line goes anywhere). Calling it
    again replaces the handler it installed before, so it is safe in tests.
    """
    global _installed
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    formatter: logging.Formatter = (
        JsonLogFormatter() if settings.log_format is LogFormat.JSON else TextLogFormatter()
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers) if exclusive else [_installed]:
        if old is not None:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    _installed = handler
    return handler
