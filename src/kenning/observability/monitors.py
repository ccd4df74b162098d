"""Answer-quality monitors over rolling windows, computed from the stored answers.

For each tenant, over the last ``monitor_window_hours``:

- mean groundedness of the answers that were not abstentions;
- abstention rate: abstained / answers;
- negative-feedback rate: answers rated down / answers rated at all;
- drift of the top-retrieval-score distribution (``answers.evidence``, the best cosine
  between question and passage) against the ``baseline_days`` before the window, as the
  population stability index (PSI, below).

A monitor with fewer than ``monitor_min_samples`` answers behind it is not exported: a
missing series makes no alert fire, while a noisy one would. The values are exported as
gauges by ``MonitorCollector``; since computing them reads the window's answers, one
computation serves scrapes for ``monitor_cache_s`` seconds.

PSI with bins from the baseline's deciles: ``Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)`` over the share
``eᵢ`` of baseline and ``aᵢ`` of window scores in bin ``i`` (shares clipped at 1e-4 so an
empty bin counts as rare, not impossible). Rule of thumb: < 0.1 stable, 0.1–0.25 a
moderate shift, > 0.25 a major shift (the alert threshold in deploy/prometheus).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kenning.db.engine import SqlDatabase
from kenning.settings import ObservabilitySettings

EPSILON = 1e-4


def psi_from_counts(expected: ArrayLike, actual: ArrayLike) -> float:
    """PSI of two histograms over the same bins (counts or shares)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("two non-empty histograms over the same bins are needed")
    e = np.clip(e / e.sum(), EPSILON, None)
    a = np.clip(a / a.sum(), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(baseline: Sequence[float], window: Sequence[float], bins: int = 10) -> float:
    """PSI of ``window`` against ``baseline``, binned at the baseline's quantiles.

    Quantile bins give each bin about the same share of the baseline, so no bin is empty
    by construction; ties (many equal scores) merge bins rather than make empty ones.
    """
    base = np.asarray(baseline, dtype=np.float64)
    now = np.asarray(window, dtype=np.float64)
    inner = np.unique(np.quantile(base, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(inner, base, side="right"), minlength=len(inner) + 1)
    actual = np.bincount(np.searchsorted(inner, now, side="right"), minlength=len(inner) + 1)
    return psi_from_counts(expected, actual)


@dataclass(frozen=True, slots=True)
class MonitorValues:
    """One tenant's monitors; ``None`` where there were too few samples."""

    tenant: str
    answers: int
    baseline_answers: int
    groundedness_mean: float | None
    abstention_rate: float | None
    negative_feedback_rate: float | None
    score_psi: float | None


@dataclass(frozen=True, slots=True)
class _Row:
    created_at: float
    mode: str
    groundedness: float
    evidence: float
    rating: int | None


class Monitors:
    def __init__(self, db: SqlDatabase, settings: ObservabilitySettings) -> None:
        self.db = db
        self.settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[float, list[MonitorValues]] | None = None

    def current(self) -> list[MonitorValues]:
        """The monitors now, recomputed at most every ``monitor_cache_s`` seconds."""
        with self._lock:
            now = time.time()
            if self._cached is None or now - self._cached[0] >= self.settings.monitor_cache_s:
                self._cached = (now, self.compute(now))
            return self._cached[1]

    def compute(self, now: float) -> list[MonitorValues]:
        window = self.settings.monitor_window_hours * 3600
        start = now - window
        baseline_start = start - self.settings.baseline_days * 86400
        by_tenant: dict[str, list[_Row]] = defaultdict(list)
        for tenant, *row in self.db.fetchall(
            "SELECT a.tenant, a.created_at, a.mode, a.groundedness, a.evidence,"
            " (SELECT min(f.rating) FROM feedback f WHERE f.answer_id = a.id)"
            " FROM answers a WHERE a.created_at >= ? AND a.created_at <= ?",
            (baseline_start, now),
        ):
            by_tenant[str(tenant)].append(_Row(*row))
        return [self._values(t, rows, start) for t, rows in sorted(by_tenant.items())]

    def _values(self, tenant: str, rows: list[_Row], start: float) -> MonitorValues:
        window = [r for r in rows if r.created_at >= start]
        baseline = [r for r in rows if r.created_at < start]
        enough = self.settings.monitor_min_samples
        answered = [r.groundedness for r in window if r.mode != "abstained"]
        rated = [r.rating for r in window if r.rating is not None]
        drift = None
        if len(window) >= enough and len(baseline) >= enough:
            drift = psi([r.evidence for r in baseline], [r.evidence for r in window])
        return MonitorValues(
            tenant=tenant,
            answers=len(window),
            baseline_answers=len(baseline),
            groundedness_mean=_mean(answered) if len(answered) >= enough else None,
            abstention_rate=(
                sum(r.mode == "abstained" for r in window) / len(window)
                if len(window) >= enough
                else None
            ),
            negative_feedback_rate=(
                sum(r < 0 for r in rated) / len(rated) if len(rated) >= enough else None
            ),
            score_psi=drift,
        )


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


_GAUGES = (
    ("groundedness_mean", "Mean groundedness of non-abstained answers in the window."),
    ("abstention_rate", "Share of answers in the window that abstained."),
    ("negative_feedback_rate", "Share of rated answers in the window rated down."),
    ("score_psi", "PSI of the top-retrieval-score distribution, window vs baseline."),
)


class MonitorCollector(Collector):
    """``kenning_monitor_*{tenant}`` gauges, plus the sample counts behind them."""

    def __init__(self, values: Callable[[], list[MonitorValues]]) -> None:
        self.values = values

    def collect(self) -> Iterable[Metric]:
        values = self.values()
        for name, doc in _GAUGES:
            gauge = GaugeMetricFamily(f"kenning_monitor_{name}", doc, labels=["tenant"])
            for v in values:
                value = getattr(v, name)
                if value is not None:
                    gauge.add_metric([v.tenant], value)
            yield gauge
        for name, doc in (
            ("window_answers", "Answers in the monitors' rolling window."),
            ("baseline_answers", "Answers in the drift baseline window."),
        ):
            gauge = GaugeMetricFamily(f"kenning_monitor_{name}", doc, labels=["tenant"])
            for v in values:
                gauge.add_metric([v.tenant], getattr(v, name.replace("window_", "")))
            yield gauge
