"""Prometheus metrics: one registry per service, fed at one place per layer.

The pipelines do not import Prometheus: they already return what they measured
(``Answer.timings``, ``Answer.usage``, ``SearchResult.timings``, the ingest report), and
the layer that receives it records it here:

- HTTP: the ASGI middleware (``kenning.observability.middleware``) times every request
  by route *template* (``/v1/jobs/{job_id}``, never the raw path) and status.
- Answers: ``AnswerRecorder`` turns each answer's timings, tokens and priced cost into
  stage histograms and counters when it stores the answer.
- Ingestion: the job runner reports each finished job's ingest report.
- Errors: the API's problem handler counts every error by its class in the exception tree.

What lives in a database (the job queue, the quality monitors) or in a component (the
store's caches) is read by custom collectors at scrape time, so the numbers are true
for every process sharing the database, not only this one.

The registry is per ``Components`` rather than the process-global default, so two
services in one process (tests, a library embedding Kenning) never mix their counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kenning.db.engine import SqlDatabase
from kenning.types import Answer

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SHARE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
INGEST_OUTCOMES = ("added", "updated", "unchanged", "deleted", "failed")

CacheStats = Mapping[str, tuple[int, int]]
"""Cache name -> (hits, misses) since the process started."""


@runtime_checkable
class ReportsCaches(Protocol):
    """A component with in-process caches worth a hit ratio (the stores)."""

    def cache_stats(self) -> CacheStats: ...


def job_queue_counts(db: SqlDatabase) -> dict[str, int]:
    """Jobs queued and running, from the jobs table every worker writes to."""
    rows = db.fetchall(
        "SELECT status, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY status"
    )
    return {str(status): int(n) for status, n in rows}


class Metrics:
    """Every metric Kenning exports, on its own registry (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_seconds = Histogram(
            "kenning_http_request_duration_seconds",
            "HTTP requests by method, route template and status, until the body is sent.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "kenning_stage_duration_seconds",
            "Time per answering stage (retrieve_keyword, retrieve_dense, llm_first_token, ...).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "kenning_answers", "Answers given, by tenant and mode.", ["tenant", "mode"], registry=r
        )
        self.answer_seconds = Histogram(
            "kenning_answer_duration_seconds",
            "Question to complete answer, by mode.",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.groundedness = Histogram(
            "kenning_answer_groundedness",
            "Share of answer sentences supported by a cited passage (non-abstained answers).",
            buckets=SHARE_BUCKETS,
            registry=r,
        )
        self.top_score = Histogram(
            "kenning_answer_top_score",
            "Best retrieval cosine of each question (the evidence abstention is decided on).",
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "kenning_llm_tokens",
            "Tokens the LLM reported, by model and direction (in = prompt, out = completion).",
            ["model", "direction"],
            registry=r,
        )
        self.cost = Counter(
            "kenning_llm_cost",
            "Estimated LLM cost from the price table (observability.prices), by model.",
            ["model", "currency"],
            registry=r,
        )
        self.llm_fallbacks = Counter(
            "kenning_llm_fallbacks",
            "Answers that fell back to extractive because the LLM failed.",
            registry=r,
        )
        self.feedback = Counter(
            "kenning_feedback", "Feedback received, by rating (up/down).", ["rating"], registry=r
        )
        self.escalations = Counter(
            "kenning_escalations", "Conversations handed to a human.", registry=r
        )
        self.ingest_files = Counter(
            "kenning_ingest_files", "Files ingested, by outcome.", ["outcome"], registry=r
        )
        self.ingest_chunks = Counter("kenning_ingest_chunks", "Chunks written.", registry=r)
        self.ingest_embedded = Counter(
            "kenning_ingest_embedded_texts",
            "Chunk texts embedded (the rest reused a stored vector for identical text).",
            registry=r,
        )
        self.ingest_jobs = Counter(
            "kenning_ingest_jobs",
            "Ingestion jobs finished, by kind and status.",
            ["kind", "status"],
            registry=r,
        )
        self.ingest_parts = Counter(
            "kenning_ingest_parts",
            "Parts of split jobs (uploads, folder syncs) a worker finished, by status.",
            ["status"],
            registry=r,
        )
        self.ingest_seconds = Histogram(
            "kenning_ingest_job_duration_seconds",
            "Wall time of an ingestion job, by kind.",
            ["kind"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=r,
        )
        self.errors = Counter(
            "kenning_errors",
            "Errors answered by the API (and failed jobs), by class in kenning.errors.",
            ["type"],
            registry=r,
        )

    # -- recording ---------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_seconds.labels(method, route, str(status)).observe(seconds)

    def observe_answer(
        self, tenant: str, answer: Answer, seconds: float, cost: float, currency: str
    ) -> None:
        """Everything one answer tells: its mode, stage timings, tokens and cost."""
        mode = answer.mode.value
        self.answers.labels(tenant, mode).inc()
        self.answer_seconds.labels(mode).observe(seconds)
        self.top_score.observe(answer.evidence)
        if not answer.abstained:
            self.groundedness.observe(answer.groundedness)
        for stage, took in answer.timings.items():
            self.stage_seconds.labels(stage).observe(took)
        if answer.model is not None:
            self.tokens.labels(answer.model, "in").inc(answer.usage.get("prompt_tokens", 0))
            self.tokens.labels(answer.model, "out").inc(answer.usage.get("completion_tokens", 0))
            self.cost.labels(answer.model, currency).inc(cost)

    def observe_ingest(self, kind: str, report: Mapping[str, Any], error: str | None) -> None:
        """A finished ingestion job: its report's file outcomes, chunks and duration."""
        self.ingest_jobs.labels(kind, "failed" if error else "done").inc()
        for outcome in INGEST_OUTCOMES:
            self.ingest_files.labels(outcome).inc(int(report.get(outcome, 0)))
        self.ingest_chunks.inc(int(report.get("chunks", 0)))
        self.ingest_embedded.inc(int(report.get("embedded_texts", 0)))
        if "seconds" in report:
            self.ingest_seconds.labels(kind).observe(float(report["seconds"]))

    def observe_ingest_part(self, error: str | None) -> None:
        """A part of a split job (upload, folder sync) that this worker finished. Files and
        chunks are counted once per job, by ``observe_ingest`` in the worker finishing
        its last part, so the sum over all workers is exact."""
        self.ingest_parts.labels("failed" if error else "done").inc()

    def count_error(self, exc: BaseException) -> None:
        self.errors.labels(type(exc).__name__).inc()

    # -- scrape-time collectors ----------------------------------------------------------

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class JobQueueCollector(Collector):
    """``kenning_jobs{status}``: queued and running jobs in the database right now."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "kenning_jobs", "Ingestion jobs queued or running (all processes).", labels=["status"]
        )
        counts = self.counts()
        for status in ("queued", "running"):
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


class CacheCollector(Collector):
    """``kenning_cache_requests_total{cache,result}`` from a component's own counters."""

    def __init__(self, stats: Callable[[], CacheStats]) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "kenning_cache_requests",
            "Lookups of in-process caches (e.g. the store's ACL mask cache), hit or miss.",
            labels=["cache", "result"],
        )
        for cache, (hits, misses) in sorted(self.stats().items()):
            family.add_metric([cache, "hit"], hits)
            family.add_metric([cache, "miss"], misses)
        yield family
