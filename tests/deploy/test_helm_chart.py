"""The Helm chart: rendered by Helm's own engine (Go SDK via helm-python-sdk), linted, and
every manifest validated against the Kubernetes OpenAPI schemas of the oldest and newest
supported versions (kubernetes-validate, strict: unknown fields fail)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import CHART

KUBE_VERSIONS = ("1.25.0", "1.37.0")
SECRETS = {
    "databaseUrl": "postgresql://kenning:pw@db:5432/kenning",
    "jwtSecret": "j" * 64,
    "metricsToken": "metrics-token",
}
EVERYTHING = {
    "secrets": SECRETS,
    "ingress": {"enabled": True, "className": "nginx",
                "tls": [{"secretName": "kb-tls", "hosts": ["kenning.example.com"]}]},
    "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    "config": {"KENNING_LLM__BASE_URL": "http://vllm:8000/v1", "KENNING_WORKER__POLL_S": 2},
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="kb", namespace="support", is_install=True)
    return [doc for name, text in sorted(files.items()) if name.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


@pytest.fixture(scope="module")
def everything() -> list[dict[str, Any]]:
    return render(EVERYTHING)


def test_chart_lints_without_errors() -> None:
    result = helm.lint(str(CHART), {"secrets": SECRETS}, strict=True)
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []  # only INFO notes


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", [EVERYTHING, {"secrets": {"existingSecret": "kb-secrets"},
                                                 "api": {"autoscaling": {"enabled": False}},
                                                 "persistence": {"enabled": False},
                                                 "worker": {"enabled": False}}],
                         ids=["everything", "minimal"])
def test_every_manifest_matches_the_kubernetes_schema(values: dict[str, Any], version: str) -> None:
    docs = render(values)
    assert docs
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: not in the Kubernetes schemas (checked below)
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_broken_manifest_is_caught_by_the_schema_check(everything: list[dict[str, Any]]) -> None:
    """The validator is not a no-op: a misspelt probe field fails it."""
    api = by_kind(everything)[("Deployment", "kb-kenning-api")]
    api["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBE_VERSIONS[-1], strict=True)


def test_rendered_set_has_every_part(everything: list[dict[str, Any]]) -> None:
    kinds = {kind for kind, _ in by_kind(everything)}
    assert kinds >= {"Deployment", "Job", "ConfigMap", "Secret", "Service", "Ingress",
                     "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor",
                     "PersistentVolumeClaim", "ServiceAccount"}
    names = by_kind(everything)
    assert ("Deployment", "kb-kenning-api") in names
    assert ("Deployment", "kb-kenning-worker") in names


def test_api_probes_use_the_health_routes(everything: list[dict[str, Any]]) -> None:
    api = dict(containers(everything))["kb-kenning-api"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["args"] == ["serve"]


def test_every_pod_runs_unprivileged_with_measured_requests(
    everything: list[dict[str, Any]],
) -> None:
    with helm.Chart.load(str(CHART)) as chart:
        defaults = chart.values
    expected = {"kb-kenning-api": defaults["api"]["resources"],
                "kb-kenning-worker": defaults["worker"]["resources"],
                "kb-kenning-migrate": defaults["migrations"]["resources"]}
    for name, container in containers(everything):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"] == expected[name]
        assert container["resources"]["requests"]["memory"]
    for doc in everything:
        if doc["kind"] in ("Deployment", "Job"):
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_selectors_tie_service_hpa_pdb_and_monitor_to_the_api_pods(
    everything: list[dict[str, Any]],
) -> None:
    docs = by_kind(everything)
    api = docs[("Deployment", "kb-kenning-api")]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    worker_labels = docs[("Deployment", "kb-kenning-worker")]["spec"]["template"]["metadata"][
        "labels"]
    service = docs[("Service", "kb-kenning")]
    for selector in (service["spec"]["selector"],
                     docs[("PodDisruptionBudget", "kb-kenning-api")]["spec"]["selector"][
                         "matchLabels"]):
        assert selector.items() <= pod_labels.items()
        assert not selector.items() <= worker_labels.items()
    monitor = docs[("ServiceMonitor", "kb-kenning")]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"][
        "labels"].items()
    assert monitor["spec"]["endpoints"][0]["authorization"]["credentials"]["key"] == (
        "KENNING_OBSERVABILITY__METRICS_TOKEN")
    hpa = docs[("HorizontalPodAutoscaler", "kb-kenning-api")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "kb-kenning-api"
    assert "replicas" not in api["spec"]  # the HPA owns it
    ingress = docs[("Ingress", "kb-kenning")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "kb-kenning", "port": {"name": "http"}}


def test_settings_and_secrets_reach_every_container(everything: list[dict[str, Any]]) -> None:
    docs = by_kind(everything)
    config = docs[("ConfigMap", "kb-kenning-config")]["data"]
    assert config["KENNING_STORE__BACKEND"] == "postgres"
    assert config["KENNING_WORKER__POLL_S"] == "2"
    secret = docs[("Secret", "kb-kenning-secrets")]["stringData"]
    assert secret["KENNING_DATABASE__URL"] == SECRETS["databaseUrl"]
    for _, container in containers(everything):
        refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
        assert refs == {"kb-kenning-config", "kb-kenning-secrets"}
    assert not any("KENNING_DATABASE__URL" in str(v) for v in config.values())


def test_migration_job_runs_before_install_and_upgrade(everything: list[dict[str, Any]]) -> None:
    docs = by_kind(everything)
    job = docs[("Job", "kb-kenning-migrate")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    # What it reads must exist before it: hooks of a lower weight.
    for key in (("ConfigMap", "kb-kenning-config"), ("Secret", "kb-kenning-secrets")):
        annotations = docs[key]["metadata"]["annotations"]
        assert int(annotations["helm.sh/hook-weight"]) < int(
            job["metadata"]["annotations"]["helm.sh/hook-weight"])


def test_an_existing_secret_replaces_the_chart_secret() -> None:
    docs = by_kind(render({"secrets": {"existingSecret": "vault-kenning"}}))
    assert not [key for key in docs if key[0] == "Secret"]
    for _, container in containers(list(docs.values())):
        assert {"secretRef": {"name": "vault-kenning"}} in container["envFrom"]


def test_missing_secrets_are_refused_with_a_clear_message() -> None:
    with pytest.raises(helm.HelmError, match=r"secrets\.existingSecret"):
        render({})


def test_workers_expose_their_metrics_port_to_a_pod_monitor(
    everything: list[dict[str, Any]],
) -> None:
    """``kenning worker`` serves /metrics on ``worker.metrics_port``; the chart names that
    port, probes it, and a PodMonitor scrapes it with the metrics token."""
    from kenning.settings import WorkerSettings

    docs = by_kind(everything)
    worker = dict(containers(everything))["kb-kenning-worker"]
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert ports == {"metrics": WorkerSettings().metrics_port}
    assert worker["livenessProbe"]["tcpSocket"]["port"] == "metrics"
    monitor = docs[("PodMonitor", "kb-kenning-worker")]
    worker_labels = docs[("Deployment", "kb-kenning-worker")]["spec"]["template"]["metadata"][
        "labels"]
    api_labels = docs[("Deployment", "kb-kenning-api")]["spec"]["template"]["metadata"]["labels"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= worker_labels.items()
    assert not selector.items() <= api_labels.items()
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics"
    assert endpoint["authorization"]["credentials"]["key"] == "KENNING_OBSERVABILITY__METRICS_TOKEN"
