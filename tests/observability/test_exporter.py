"""The worker's ``/metrics`` server (``observability.exporter``): a real HTTP server on a
free port, holding the API's access rule (bearer token, or loopback only)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from kenning.observability.exporter import serve_metrics
from kenning.observability.metrics import Metrics


def _served(metrics: Metrics, host: str, token: str | None) -> Iterator[str]:
    server = serve_metrics(metrics, host, 0, token)
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metrics() -> Metrics:
    m = Metrics()
    m.observe_ingest_part(None)
    m.observe_ingest_part("boom")
    m.observe_ingest("sync", {"added": 3, "chunks": 7, "seconds": 1.5}, None)
    return m


def test_loopback_scrapes_without_a_token(metrics: Metrics) -> None:
    for base in _served(metrics, "127.0.0.1", None):
        body = httpx.get(f"{base}/metrics").text
        assert 'kenning_ingest_parts_total{status="done"} 1.0' in body
        assert 'kenning_ingest_parts_total{status="failed"} 1.0' in body
        assert "kenning_ingest_chunks_total 7.0" in body
        assert 'kenning_ingest_files_total{outcome="added"} 3.0' in body
        assert httpx.get(f"{base}/other").status_code == 404


def test_a_token_is_required_once_set(metrics: Metrics) -> None:
    for base in _served(metrics, "127.0.0.1", "s3cret"):
        assert httpx.get(f"{base}/metrics").status_code == 401
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "kenning_ingest_chunks_total 7.0" in right.text


def _non_loopback_address() -> str | None:
    """An address of this host that is not loopback (the route to a public address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent by connect()
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_without_a_token_other_hosts_are_refused(metrics: Metrics) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address")
    for base in _served(metrics, address, None):
        refused = httpx.get(f"{base}/metrics")
        assert refused.status_code == 403
        assert "metrics_token" in refused.text
