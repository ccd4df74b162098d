"""Without a metrics token, ``/metrics`` answers loopback clients only; disabled, nothing."""

from __future__ import annotations

from pathlib import Path

import httpx

from kenning.settings import ObservabilitySettings
from tests.api.conftest import make_settings, running_service, serve_in_thread


def test_without_a_token_only_loopback_may_scrape(tmp_path: Path) -> None:
    with running_service(make_settings(tmp_path / "data"), log_in=False) as svc:
        remote = svc.client.get("/metrics")  # TestClient's peer is "testclient", not loopback
        assert remote.status_code == 403
        assert "metrics_token" in remote.json()["detail"]
        with serve_in_thread(svc.app) as url:
            local = httpx.get(f"{url}/metrics", timeout=10)
        assert local.status_code == 200
        assert "kenning_http_request_duration_seconds_bucket" in local.text
        assert 'route="/metrics",status="403"' in local.text  # the refused scrape counted


def test_disabled_metrics_are_not_served(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data").model_copy(
        update={"observability": ObservabilitySettings(metrics_enabled=False)}
    )
    with running_service(settings, log_in=False) as svc, serve_in_thread(svc.app) as url:
        assert httpx.get(f"{url}/metrics", timeout=10).status_code == 404
