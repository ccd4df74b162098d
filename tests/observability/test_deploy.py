"""The shipped Prometheus rules and Grafana dashboard: valid, and about metrics the app
really exports. promtool comes from scripts/install-test-tools.sh (``make test`` runs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kenning.observability.metrics import CacheCollector, JobQueueCollector, Metrics
from kenning.observability.monitors import MonitorCollector
from tests.api.conftest import Service
from tests.observability.conftest import METRICS_TOKEN

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "kenning-dashboard.json"
METRIC = re.compile(r"\bkenning_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def promtool() -> str:
    found = shutil.which("promtool") or str(ROOT / ".tools" / "bin" / "promtool")
    if not Path(found).exists():
        pytest.fail("promtool missing: run scripts/install-test-tools.sh (make test does)")
    return found


def exported_names() -> set[str]:
    """Every sample name the app's registry can expose (the scrape-time collectors too)."""
    metrics = Metrics()
    metrics.add_collector(JobQueueCollector(dict))
    metrics.add_collector(CacheCollector(dict))
    metrics.add_collector(MonitorCollector(list))
    names = set()
    for family in metrics.registry.collect():
        names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
    return names


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", str(ALERTS)], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 8 rules found" in check.stdout
    unit = subprocess.run([tool, "test", "rules", "alerts.test.yml"], cwd=ALERTS.parent,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_the_live_exposition_passes_promtool_check_metrics(observed: Service) -> None:
    observed.client.post("/v1/chat", headers=observed.auth("ada"),
                         json={"question": "How many days of paid leave?"})  # fmt: skip
    text = observed.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    lint = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_every_dashboard_panel_queries_exported_metrics() -> None:
    exported = exported_names()
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert used, expr
        assert used <= exported, (expr, used - exported)


def test_every_alert_names_exported_metrics() -> None:
    exported = exported_names()
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    for rule in rules:
        used = set(METRIC.findall(rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
