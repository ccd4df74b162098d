"""HTTP helpers shared by the OpenAI-compatible clients (embeddings and chat)."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``None`` when absent or unreadable (the caller then backs off on its own). Not capped:
    whether a long wait is acceptable is the caller's decision, not the parser's.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds: float | None = float(value)
    except ValueError:
        seconds = _seconds_until(value, now or datetime.now(UTC))
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with unknown origin (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()
