"""One HTTP call of a tool, with failures sorted into transient and final.

Connection failures, timeouts, 429 and 5xx are transient (retried, counted by the
breaker); any other non-2xx is final. The response body is returned as JSON when it is
JSON, else as text. Credentials travel only in headers and never appear in errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from kenning.errors import ToolError

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def call(
    method: str,
    url: str,
    *,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    transport: httpx.BaseTransport | None = None,
) -> Any:
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.request(
                method, url, headers=dict(headers or {}), params=params, json=json
            )
    except httpx.TimeoutException as exc:
        raise ToolError(f"{method} {_shown(url)} timed out", transient=True) from exc
    except httpx.HTTPError as exc:
        reason = f"{method} {_shown(url)} failed: {type(exc).__name__}"
        raise ToolError(reason, transient=True) from exc
    if not response.is_success:
        transient = response.status_code in TRANSIENT_STATUSES
        excerpt = " ".join(response.text.split())[:200]
        raise ToolError(
            f"{method} {_shown(url)} answered HTTP {response.status_code}: {excerpt}",
            transient=transient,
        )
    try:
        return response.json()
    except ValueError:
        return response.text


def _shown(url: str) -> str:
    """The URL without query string or user info (either may carry a credential)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, userinfo=b""))
