"""Who may scrape ``/metrics``: one rule for the API and for ``kenning worker``.

The metrics cover every tenant of the installation, so they are an operator's, not a
tenant's: with ``observability.metrics_token`` set a scraper presents it as a bearer
token (compared in constant time); without one, only loopback clients are answered.
"""

from __future__ import annotations

import hmac
import ipaddress
from enum import Enum


class Scrape(Enum):
    ALLOWED = "allowed"
    BAD_TOKEN = "bad_token"  # noqa: S105  (an outcome, not a secret)
    """A token is configured and the request did not present it."""
    NOT_LOOPBACK = "not_loopback"
    """No token is configured and the client is another host."""


def scrape_access(token: str | None, authorization: str, client_host: str) -> Scrape:
    if token is not None:
        expected = f"Bearer {token}".encode()
        if hmac.compare_digest(authorization.encode(), expected):
            return Scrape.ALLOWED
        return Scrape.BAD_TOKEN
    return Scrape.ALLOWED if _loopback(client_host) else Scrape.NOT_LOOPBACK


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
