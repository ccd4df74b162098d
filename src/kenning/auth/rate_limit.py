"""Rate limits per user, per API key and per login attempt, on the ``limits`` library.

Moving-window counters in process memory: right for the embedded server; replicas
behind a load balancer each count their own share (a Redis storage URI is the upgrade
path, the ``limits`` library supports it unchanged).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from kenning.errors import RateLimitedError


class RateLimiter:
    def __init__(self, rate: str, login_rate: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate: RateLimitItem = parse(rate)
        self._login_rate: RateLimitItem = parse(login_rate)

    def hit(self, key: str) -> None:
        """Count one request for ``key``; ``RateLimitedError`` with Retry-After when over."""
        self._check(self._rate, key)

    def hit_login(self, client: str, username: str) -> None:
        self._check(self._login_rate, f"login:{client}:{username}")

    def _check(self, item: RateLimitItem, key: str) -> None:
        if self._limiter.hit(item, key):
            return
        reset_at = self._limiter.get_window_stats(item, key).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimitedError(f"rate limit of {item} exceeded", retry_after=retry_after)
