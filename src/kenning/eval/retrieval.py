"""Evaluate a retrieval run against qrels, time a search function, render reports.

A *run* is query id -> best-first doc ids (no scores: every metric here depends only on
the order). Averaging follows the BEIR convention for which queries count, plus
``trec_eval -c`` for missing ones:

- a query is scored iff its qrels contain a relevant document (grade > 0);
- run entries for queries without such judgments are ignored;
- a scored query absent from the run scores 0 on every metric (``num_missing`` says
  how many), so a retriever cannot improve its mean by failing.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np

from kenning.errors import InvalidInputError
from kenning.eval.metrics import Metric, Qrels, Run, per_query_at_k, scored_query_ids

DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 100)
"""Cutoffs computed by default: 10 and 100 feed the headline table; 1 and 5 are cheap."""

ALL_METRICS: tuple[Metric, ...] = tuple(Metric)

Search = Callable[[str], Iterable[str]]
"""A retriever as the evaluator sees it: query text -> best-first doc ids (any iterable)."""


class LatencySummary(TypedDict):
    """Per-query latency in milliseconds: linear-interpolated percentiles and the mean."""

    p50: float
    p90: float
    p99: float
    mean: float


@dataclass(frozen=True, slots=True)
class RetrievalReport:
    """Mean metrics of one run; keys of ``scores`` look like ``"ndcg@10"``.

    ``per_query`` keeps every query's scores (same keys) so two modes can be compared
    query by query (paired tests) without re-running them.
    """

    scores: dict[str, float]
    num_queries: int
    num_missing: int = 0
    latency_ms: LatencySummary | None = None
    per_query: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def score(self, metric: Metric, k: int) -> float:
        """Mean ``metric@k``; ``InvalidInputError`` if it was not computed."""
        key = metric_key(metric, k)
        if key not in self.scores:
            raise InvalidInputError(f"{key} not in report (computed: {sorted(self.scores)})")
        return self.scores[key]


def metric_key(metric: Metric, k: int) -> str:
    """The report key of ``metric`` at cutoff ``k``, e.g. ``"recall@100"``."""
    return f"{metric.value}@{k}"


def evaluate_run(
    run: Run,
    qrels: Qrels,
    ks: Iterable[int] = DEFAULT_KS,
    *,
    metrics: Iterable[Metric] = ALL_METRICS,
    latencies_ms: Sequence[float] | None = None,
) -> RetrievalReport:
    """Score ``run`` against ``qrels`` for every metric at every cutoff in ``ks``.

    ``latencies_ms`` (from ``run_queries``) is summarised into the report when given.
    Raises ``InvalidInputError`` for an empty or non-positive ``ks`` or when no query
    in ``qrels`` has a relevant document.
    """
    cutoffs = _checked_ks(ks)
    scored = scored_query_ids(qrels)
    if not scored:
        raise InvalidInputError("no query has a relevant document: nothing to score")
    per_query: dict[str, dict[str, float]] = {qid: {} for qid in scored}
    for metric in metrics:
        for k in cutoffs:
            for qid, value in per_query_at_k(metric, run, qrels, k).items():
                per_query[qid][metric_key(metric, k)] = value
    return RetrievalReport(
        scores=_means(per_query),
        num_queries=len(scored),
        num_missing=sum(qid not in run for qid in scored),
        latency_ms=latency_summary(latencies_ms) if latencies_ms else None,
        per_query=per_query,
    )


def run_queries(
    search: Search,
    queries: Mapping[str, str],
    qids: Iterable[str] | None = None,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, list[str]], list[float]]:
    """Call ``search`` once per query, in order; return the run and latencies in ms.

    ``qids`` defaults to every query. The result is copied into a list inside the timed
    region, so a lazy (generator) retriever is timed for the work it actually does.
    ``clock`` (seconds) is injectable so tests need no sleeping or patching.
    """
    ids = list(queries) if qids is None else list(dict.fromkeys(qids))  # each query once
    unknown = [qid for qid in ids if qid not in queries]
    if unknown:
        raise InvalidInputError(f"{len(unknown)} query ids have no text: {unknown[:5]!r}")
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for qid in ids:
        start = clock()
        run[qid] = list(search(queries[qid]))
        latencies.append((clock() - start) * 1000.0)
    return run, latencies


def latency_summary(latencies_ms: Sequence[float]) -> LatencySummary:
    """p50 / p90 / p99 (numpy's default linear interpolation) and mean, in ms."""
    if len(latencies_ms) == 0:
        raise InvalidInputError("no latencies to summarise")
    values = np.asarray(latencies_ms, dtype=np.float64)
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    return LatencySummary(p50=p50, p90=p90, p99=p99, mean=float(values.mean()))


def to_dict(report: RetrievalReport, *, per_query: bool = False) -> dict[str, Any]:
    """Plain-JSON form of ``report``; per-query scores only on request (they are large)."""
    data: dict[str, Any] = {
        "num_queries": report.num_queries,
        "num_missing": report.num_missing,
        "scores": dict(sorted(report.scores.items())),
        "latency_ms": dict(report.latency_ms) if report.latency_ms else None,
    }
    if per_query:
        data["per_query"] = report.per_query
    return data


def to_json(report: RetrievalReport, *, per_query: bool = False) -> str:
    """``to_dict`` as indented JSON with sorted keys, stable enough to commit and diff."""
    return json.dumps(to_dict(report, per_query=per_query), indent=2, sort_keys=True)


_TABLE_COLUMNS: tuple[tuple[str, Callable[[RetrievalReport], str]], ...] = (
    ("nDCG@10", lambda r: _fmt_score(r, Metric.NDCG, 10)),
    ("recall@100", lambda r: _fmt_score(r, Metric.RECALL, 100)),
    ("MRR@10", lambda r: _fmt_score(r, Metric.MRR, 10)),
    ("p50 ms", lambda r: _fmt_latency(r, "p50")),
    ("p99 ms", lambda r: _fmt_latency(r, "p99")),
    ("queries", lambda r: str(r.num_queries)),
)


def to_markdown_table(reports: Mapping[str, RetrievalReport]) -> str:
    """One row per mode (keyword, dense, hybrid, ...) in the given order.

    Columns: nDCG@10, recall@100, MRR@10 (4 decimals), query latency p50 / p99 (ms)
    and the number of scored queries. A value the report lacks renders as ``–``.
    """
    header = ["mode", *(name for name, _ in _TABLE_COLUMNS)]
    lines = [_row(header), _row(["---", *("---:" for _ in _TABLE_COLUMNS)])]
    for mode, report in reports.items():
        cells = [mode.replace("|", r"\|"), *(render(report) for _, render in _TABLE_COLUMNS)]
        lines.append(_row(cells))
    return "\n".join(lines) + "\n"


def _checked_ks(ks: Iterable[int]) -> list[int]:
    cutoffs = sorted(set(ks))
    if not cutoffs or cutoffs[0] < 1:
        raise InvalidInputError(f"ks must be a non-empty set of cutoffs >= 1, got {cutoffs}")
    return cutoffs


def _means(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    keys = next(iter(per_query.values())).keys()
    n = len(per_query)
    return {key: math.fsum(scores[key] for scores in per_query.values()) / n for key in keys}


def _fmt_score(report: RetrievalReport, metric: Metric, k: int) -> str:
    value = report.scores.get(metric_key(metric, k))
    return "–" if value is None else f"{value:.4f}"


def _fmt_latency(report: RetrievalReport, which: Literal["p50", "p99"]) -> str:
    return "–" if report.latency_ms is None else f"{report.latency_ms[which]:.2f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
