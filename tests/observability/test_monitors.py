"""Monitor math against hand-computed values, and the monitors over a real database."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from kenning.db.engine import SqlDatabase, sqlite_url
from kenning.observability.monitors import Monitors, psi, psi_from_counts
from kenning.settings import ObservabilitySettings


def test_psi_of_two_histograms_by_hand() -> None:
    # shares e = (.5, .5), a = (.8, .2): .3·ln(1.6) + (−.3)·ln(.4)
    expected = 0.3 * math.log(1.6) - 0.3 * math.log(0.4)
    assert psi_from_counts([50, 50], [80, 20]) == pytest.approx(expected)
    assert expected == pytest.approx(0.415888, abs=1e-6)
    assert psi_from_counts([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)  # same shares


def test_psi_bins_at_the_baseline_quantiles() -> None:
    # Two bins split at the baseline median 0.25: baseline (2, 2), window (1, 3).
    # shares e = (.5, .5), a = (.25, .75): −.25·ln(.5) + .25·ln(1.5)
    got = psi([0.1, 0.2, 0.3, 0.4], [0.1, 0.3, 0.35, 0.4], bins=2)
    assert got == pytest.approx(-0.25 * math.log(0.5) + 0.25 * math.log(1.5))
    assert got == pytest.approx(0.274653, abs=1e-6)


def test_psi_counts_an_empty_bin_as_rare_not_impossible() -> None:
    # Window entirely in the upper bin: the lower share is clipped to 1e-4, not 0.
    e, a = 0.5, 1e-4
    by_hand = (a - e) * math.log(a / e) + (1 - e) * math.log(1 / e)
    assert psi_from_counts([5, 5], [0, 10]) == pytest.approx(by_hand, rel=1e-3)
    with pytest.raises(ValueError, match="non-empty"):
        psi_from_counts([0, 0], [1, 1])


def insert(db: SqlDatabase, tenant: str, i: int, at: float, mode: str, grounded: float,
           evidence: float, rating: int | None = None) -> None:  # fmt: skip
    with db.write() as conn:
        conn.execute(
            "INSERT INTO answers (id, tenant, username, conversation_id, question, text, mode,"
            " groundedness, evidence, citations, latency_ms, model, created_at)"
            " VALUES (?, ?, 'u', NULL, 'q', 't', ?, ?, ?, 1, 10.0, NULL, ?)",
            (f"{tenant}-{i}", tenant, mode, grounded, evidence, at),
        )
        if rating is not None:
            conn.execute(
                "INSERT INTO feedback (answer_id, tenant, username, rating, comment, created_at)"
                " VALUES (?, ?, 'u', ?, '', ?)",
                (f"{tenant}-{i}", tenant, rating, at),
            )


def test_monitors_over_the_stored_answers(tmp_path: Path) -> None:
    db = SqlDatabase(sqlite_url(tmp_path / "k.db"), auto_upgrade=True)
    db.warm_up()
    now = time.time()
    hour = 3600.0
    # Baseline (two days ago): scores 0.1, 0.2, 0.3, 0.4. Window (last 24 h): 0.1, 0.3,
    # 0.35, 0.4 — the pair test_psi_bins_at_the_baseline_quantiles computed by hand with
    # two bins; here with the default ten (deciles), computed by psi() itself below.
    for i, score in enumerate((0.1, 0.2, 0.3, 0.4)):
        insert(db, "acme", i, now - 48 * hour, "llm", 0.5, score)
    window = [("llm", 0.9, 0.1, 1), ("abstained", 0.0, 0.3, None),
              ("extractive", 0.6, 0.35, -1), ("llm", 0.8, 0.4, -1)]  # fmt: skip
    for i, (mode, grounded, score, rating) in enumerate(window, start=10):
        insert(db, "acme", i, now - hour, mode, grounded, score, rating)
    insert(db, "globex", 1, now - hour, "abstained", 0.0, 0.1)
    settings = ObservabilitySettings(monitor_min_samples=2)
    acme, globex = Monitors(db, settings).compute(now)
    assert (acme.tenant, acme.answers, acme.baseline_answers) == ("acme", 4, 4)
    assert acme.abstention_rate == pytest.approx(1 / 4)
    assert acme.groundedness_mean == pytest.approx((0.9 + 0.6 + 0.8) / 3)
    assert acme.negative_feedback_rate == pytest.approx(2 / 3)
    assert acme.score_psi == pytest.approx(psi([0.1, 0.2, 0.3, 0.4], [0.1, 0.3, 0.35, 0.4]))
    assert acme.score_psi is not None
    assert acme.score_psi > 0
    # globex: one answer, below the minimum: nothing exported rather than noise.
    assert globex.answers == 1
    assert globex.abstention_rate is None
    assert globex.score_psi is None
    db.close()
