"""A service with a fake LLM, a price table and a metrics token; spans kept in memory.

OpenTelemetry lets a process install its tracer provider once, so one provider with an
in-memory exporter serves the whole session; ``spans`` hands each test an emptied one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from kenning.settings import LLMSettings, ModelPrice, ObservabilitySettings, Settings
from tests.api.conftest import Service, make_settings, running_service
from tests.fakes.openai_server import FakeOpenAIServer

METRICS_TOKEN = "scrape-secret-8c1f"
PRICE = ModelPrice(input_per_1k=0.5, output_per_1k=1.5)
LEAVE = b"# Leave policy\n\nStaff get 30 days of paid leave per year.\n"
LLM_ANSWER = "Staff get 30 days of paid leave per year [1]."

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _provider() -> InMemorySpanExporter:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    trace.set_tracer_provider(provider)
    return _exporter


@pytest.fixture
def spans(_provider: InMemorySpanExporter) -> InMemorySpanExporter:
    _provider.clear()
    return _provider


def observed_settings(data_dir: Path, llm_url: str, **observability: Any) -> Settings:
    base = make_settings(data_dir)
    obs = {
        "prices": {"fake-model": PRICE},
        "metrics_token": METRICS_TOKEN,
        "minutes_per_deflection": 5.0,
        "monitor_min_samples": 1,
        "monitor_cache_s": 0.0,
        **observability,
    }
    return base.model_copy(
        update={
            "llm": LLMSettings(base_url=llm_url, model="fake-model", max_retries=0),
            "observability": ObservabilitySettings(**obs),
        }
    )


@pytest.fixture
def observed(tmp_path: Path, openai_server: FakeOpenAIServer) -> Iterator[Service]:
    """acme has the leave policy; the fake LLM answers from it, citing [1]."""
    openai_server.responder = lambda request: LLM_ANSWER
    with running_service(observed_settings(tmp_path / "data", openai_server.url)) as svc:
        job = svc.upload("ed", {"leave.md": LEAVE})
        assert job["status"] == "done", job
        yield svc


def scrape(svc: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, keyed by (name, sorted labels)."""
    response = svc.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
