"""Containing tool failures and keeping secrets out of the audit log.

``ToolRunner.run`` executes one call: each attempt under a timeout, transient failures
retried with exponential backoff and jitter (tenacity), and every attempt through a
circuit breaker per endpoint (pybreaker), so a helpdesk that is down is not hammered by
every conversation and the model hears "unavailable" at once instead of after a timeout.

Only transient failures (``ToolError.transient``: connection, timeout, HTTP 5xx/429) are
retried and count against the breaker; a 4xx or a schema error is the caller's problem,
repeats identically, and says nothing about the endpoint's health.

A timed-out attempt is abandoned, not killed (Python threads cannot be): HTTP tools pass
the same timeout to their client so the abandoned thread ends soon after. Breakers live in
the process: each replica learns an endpoint is down on its own.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pybreaker
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from kenning.agent.registry import Tool, ToolContext, ToolOutput
from kenning.errors import CircuitOpenError, KenningError, ToolError, ToolTimeoutError
from kenning.settings import AgentSettings

log = logging.getLogger(__name__)
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|authori[sz]ation|cookie", re.I)
REDACTED = "[redacted]"


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ToolError) and exc.transient


class ToolRunner:
    """Runs tool calls under the ``agent`` settings' timeouts, retries and breakers."""

    def __init__(
        self, settings: AgentSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kenning-tool")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def breaker(self, key: str) -> pybreaker.CircuitBreaker:
        with self._lock:
            if key not in self._breakers:
                self._breakers[key] = pybreaker.CircuitBreaker(
                    fail_max=self.settings.breaker_failures,
                    reset_timeout=self.settings.breaker_reset_s,
                    exclude=[lambda exc: not _transient(exc)],
                    name=key,
                )
            return self._breakers[key]

    def run(self, tool: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        """The tool's output, or ``ToolError`` (``CircuitOpenError`` when refused)."""
        s = self.settings
        retrying = Retrying(
            stop=stop_after_attempt(s.tool_retries + 1),
            wait=wait_exponential_jitter(
                multiplier=s.retry_backoff_s, max=30.0, jitter=s.retry_backoff_s
            ),
            retry=retry_if_exception(_transient),
            reraise=True,
            sleep=self._sleep,
        )
        output: ToolOutput = retrying(self._attempt, tool, ctx, arguments)
        return output

    def _attempt(self, tool: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        breaker = self.breaker(tool.breaker_key)
        try:
            output: ToolOutput = breaker.call(self._timed, tool, ctx, arguments)
        except pybreaker.CircuitBreakerError as exc:
            raise CircuitOpenError(
                f"{tool.name} is unavailable after repeated failures; not calling it for"
                f" up to {self.settings.breaker_reset_s:g} s"
            ) from exc
        return output

    def _timed(self, tool: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        timeout = tool.timeout_s or self.settings.tool_timeout_s
        future = self._pool.submit(tool.handler, ctx, arguments)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            future.cancel()
            raise ToolTimeoutError(f"{tool.name} took longer than {timeout:g} s") from exc
        except ToolError:
            raise
        except KenningError as exc:  # e.g. a permission or input error from our own code
            raise ToolError(f"{tool.name}: {exc}") from exc
        except Exception as exc:  # a bug in a tool must not end the conversation
            log.exception("tool %s failed unexpectedly", tool.name)
            raise ToolError(f"{tool.name} failed unexpectedly ({type(exc).__name__})") from exc


def redact(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """``value`` with secret-looking keys masked and known secret values cut out, for the
    audit log: arguments a model wrote may carry credentials a document planted."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return value
    return value
