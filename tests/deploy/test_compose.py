"""compose.yaml: validated by docker-compose v2's own loader (the compose-spec schema,
interpolation, profiles, dependency conditions) without a Docker engine; the Prometheus
configuration it mounts is checked by promtool."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kenning.settings import WorkerSettings
from tests.deploy.conftest import COMPOSE, ROOT, docker_compose_binary
from tests.observability.test_deploy import promtool

ENV = {
    "KENNING_POSTGRES_PASSWORD": "pg-secret",
    "KENNING_JWT_SECRET": "j" * 64,
    "KENNING_METRICS_TOKEN": "metrics-token",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret",
}


def compose(*args: str, env: dict[str, str] | None = None,
            file: Path = COMPOSE) -> subprocess.CompletedProcess[str]:
    # No DOCKER_HOST: `config` must not need an engine. A clean env keeps a developer's
    # own .env and KENNING_* variables out of the result.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    return subprocess.run(
        [docker_compose_binary(), "--project-directory", str(ROOT), "-f", str(file), *args],
        capture_output=True, text=True, env=clean, timeout=60, check=False,
    )


def config(*profiles: str) -> dict[str, Any]:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    result = compose(*flags, "config", "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_compose_file_is_valid() -> None:
    result = compose("--profile", "llm", "config", "--quiet", env=ENV)
    assert result.returncode == 0, result.stderr


def test_an_invalid_compose_file_is_refused(tmp_path: Path) -> None:
    """The check is real: a misspelt key fails the compose-spec schema."""
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["api"]["healthcheck"]["intervall"] = "5s"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = compose("config", "--quiet", env=ENV, file=path)
    assert result.returncode != 0
    assert "intervall" in result.stderr


def test_secrets_must_be_set() -> None:
    result = compose("config", "--quiet", env={k: v for k, v in ENV.items()
                                               if k != "KENNING_JWT_SECRET"})
    assert result.returncode != 0
    assert "KENNING_JWT_SECRET" in result.stderr


def test_the_stack_has_every_service_and_the_llm_only_on_request() -> None:
    assert set(config()["services"]) == {"db", "migrate", "api", "worker", "otel-collector",
                                         "prometheus", "grafana"}
    assert "llm" in config("llm")["services"]


def test_api_and_worker_wait_for_the_migration_and_share_the_data_volume() -> None:
    services = config()["services"]
    for name in ("api", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["read_only"] is True
        assert service["user"] == "10001:10001"
        assert [v["source"] for v in service["volumes"]] == ["kenning-data"]
        env = service["environment"]
        assert env["KENNING_STORE__BACKEND"] == "postgres"
        assert env["KENNING_DATABASE__URL"] == "postgresql://kenning:pg-secret@db:5432/kenning"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["db"]["image"].startswith("pgvector/pgvector:")


def test_mounted_config_files_exist() -> None:
    for service in config("llm")["services"].values():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind" and not volume["source"].endswith("/models"):
                assert Path(volume["source"]).exists(), volume["source"]


def test_prometheus_config_scrapes_kenning_with_its_rules(tmp_path: Path) -> None:
    """promtool checks the shipped prometheus.yml, with the in-container paths pointed at
    the repository's rule file and a token file."""
    shipped = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    services = config()["services"]
    mounts = {v["target"]: v["source"] for v in services["prometheus"]["volumes"]
              if v["type"] == "bind"}
    (rules,) = shipped["rule_files"]
    assert Path(mounts[rules]) == ROOT / "deploy/prometheus/alerts.yml"
    shipped["rule_files"] = [mounts[rules]]
    token = tmp_path / "token"
    token.write_text(ENV["KENNING_METRICS_TOKEN"])
    jobs = {job["job_name"]: job for job in shipped["scrape_configs"]}
    for job in jobs.values():  # the API and the workers, both with the metrics token
        assert job["authorization"]["credentials_file"] == (
            "/run/secrets/" + services["prometheus"]["secrets"][0]["target"])
        job["authorization"]["credentials_file"] = str(token)
    assert jobs["kenning"]["static_configs"][0]["targets"] == ["api:8000"]
    worker_port = WorkerSettings().metrics_port
    assert jobs["kenning-worker"]["static_configs"][0]["targets"] == [f"worker:{worker_port}"]
    assert "worker" in services
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(shipped))
    result = subprocess.run([promtool(), "check", "config", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@pytest.mark.parametrize("path", ["deploy/grafana/provisioning/datasources/prometheus.yaml",
                                  "deploy/grafana/provisioning/dashboards/kenning.yaml",
                                  "deploy/otel/collector.yaml"])
def test_provisioning_files_are_well_formed(path: str) -> None:
    data = yaml.safe_load((ROOT / path).read_text())
    assert data


def test_grafana_loads_the_shipped_dashboard() -> None:
    grafana = config()["services"]["grafana"]
    mounts = {v["target"]: v["source"] for v in grafana["volumes"] if v["type"] == "bind"}
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/kenning.yaml").read_text())
    folder = provider["providers"][0]["options"]["path"]
    dashboards = [src for target, src in mounts.items() if target.startswith(folder + "/")]
    assert [Path(d).name for d in dashboards] == ["kenning-dashboard.json"]
    source = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
