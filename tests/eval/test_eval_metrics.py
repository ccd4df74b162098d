"""IR metrics against hand-computed cases and an independent brute-force implementation.

Every expected number below is worked out in the comments, so a reader can check the
arithmetic without trusting the code under test. log2(3) = 1.5849625, log2(5) = 2.3219281.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kenning.errors import InvalidInputError
from kenning.eval.metrics import (
    Metric,
    hit_at_k,
    mean_at_k,
    mrr_at_k,
    ndcg_at_k,
    per_query_at_k,
    precision_at_k,
    recall_at_k,
    top_k,
)

ALL_FNS = [ndcg_at_k, recall_at_k, mrr_at_k, precision_at_k, hit_at_k]


# --- hand-computed cases -------------------------------------------------------------


def test_binary_relevant_at_ranks_1_and_3_of_2_relevant() -> None:
    ranked = ["a", "x", "b", "y"]
    qrels = {"a": 1, "b": 1}
    # DCG  = 1/log2(2) + 0/log2(3) + 1/log2(4) = 1 + 0.5 = 1.5
    # IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.6309298 = 1.6309298
    # nDCG = 1.5 / 1.6309298 = 0.9197208
    assert ndcg_at_k(ranked, qrels, 10) == pytest.approx(0.9197207891, abs=1e-9)
    assert recall_at_k(ranked, qrels, 10) == 1.0  # both relevant found
    assert recall_at_k(ranked, qrels, 2) == 0.5  # top-2 = a, x: 1 of 2
    assert precision_at_k(ranked, qrels, 2) == 0.5  # 1 relevant / k=2
    assert precision_at_k(ranked, qrels, 10) == 0.2  # 2 relevant / k=10
    assert mrr_at_k(ranked, qrels, 10) == 1.0  # first relevant at rank 1
    assert hit_at_k(ranked, qrels, 1) == 1.0


def test_graded_relevance_uses_linear_gain_and_ideal_from_sorted_qrels() -> None:
    ranked = ["b", "a", "x", "c"]
    qrels = {"a": 2, "b": 1, "c": 3}
    # k=3: DCG  = 1/log2(2) + 2/log2(3) + 0/log2(4) = 1 + 1.2618595 = 2.2618595
    #      IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.2618595 + 0.5 = 4.7618595
    #      nDCG = 2.2618595 / 4.7618595 = 0.4749950
    assert ndcg_at_k(ranked, qrels, 3) == pytest.approx(0.4749950106, abs=1e-9)
    # k=4: DCG  = 2.2618595 + 3/log2(5) = 2.2618595 + 1.2920297 = 3.5538892
    #      IDCG = 4.7618595 (only three graded documents exist)
    #      nDCG = 3.5538892 / 4.7618595 = 0.7463238
    assert ndcg_at_k(ranked, qrels, 4) == pytest.approx(0.7463238208, abs=1e-9)
    # grades do not matter for the set-based metrics: 2 of 3 relevant in top 3
    assert recall_at_k(ranked, qrels, 3) == pytest.approx(2 / 3)
    assert precision_at_k(ranked, qrels, 3) == pytest.approx(2 / 3)


def test_ideal_dcg_is_cut_at_k() -> None:
    # 5 relevant, k=2, both retrieved are relevant: DCG@2 = IDCG@2 = 1 + 1/log2(3) -> 1.0
    qrels = dict.fromkeys("abcde", 1)
    assert ndcg_at_k(["a", "b"], qrels, 2) == 1.0
    assert recall_at_k(["a", "b"], qrels, 2) == pytest.approx(2 / 5)  # denominator |rel|


def test_cutoff_excludes_a_relevant_document_at_rank_k_plus_1() -> None:
    ranked = [f"x{i}" for i in range(10)] + ["a"]  # "a" at rank 11
    qrels = {"a": 1}
    for fn in ALL_FNS:
        assert fn(ranked, qrels, 10) == 0.0, fn.__name__
    assert mrr_at_k(ranked, qrels, 11) == pytest.approx(1 / 11)
    # nDCG@11 = (1/log2(12)) / (1/log2(2)) = 1 / 3.5849625 = 0.2789429
    assert ndcg_at_k(ranked, qrels, 11) == pytest.approx(0.2789429456, abs=1e-9)


def test_mrr_is_reciprocal_rank_of_first_relevant_only() -> None:
    # first relevant at rank 3 -> 1/3, later relevant documents do not add
    assert mrr_at_k(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)


@pytest.mark.parametrize("qrels", [{}, {"a": 0}, {"a": 0, "b": -1}])
def test_query_without_relevant_documents_scores_zero(qrels: dict[str, int]) -> None:
    for fn in ALL_FNS:
        assert fn(["a", "b"], qrels, 10) == 0.0, fn.__name__


def test_duplicates_keep_first_occurrence_and_do_not_use_up_the_cutoff() -> None:
    ranked = ["x", "x", "a", "a", "b"]
    qrels = {"a": 1, "b": 1}
    # deduplicated: x, a, b -> relevant at ranks 2 and 3
    # DCG  = 1/log2(3) + 1/log2(4) = 0.6309298 + 0.5 = 1.1309298
    # IDCG = 1 + 1/log2(3) = 1.6309298;  nDCG@3 = 0.6934264
    assert ndcg_at_k(ranked, qrels, 3) == pytest.approx(0.6934264036, abs=1e-9)
    assert recall_at_k(ranked, qrels, 3) == 1.0  # without dedupe top-3 = x, x, a -> 0.5
    assert precision_at_k(ranked, qrels, 3) == pytest.approx(2 / 3)  # not 3/3 from "a" twice
    assert mrr_at_k(ranked, qrels, 3) == 0.5  # first relevant at deduplicated rank 2
    assert top_k(ranked, 3) == ["x", "a", "b"]


def test_precision_divides_by_k_even_when_fewer_are_returned() -> None:
    assert precision_at_k(["a"], {"a": 1}, 10) == 0.1  # 1 relevant / 10


def test_negative_grades_count_as_zero_gain() -> None:
    # "n" at rank 1 has grade -2 -> gain 0; DCG = 1/log2(3); IDCG = 1 -> 0.6309298
    assert ndcg_at_k(["n", "a"], {"n": -2, "a": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_empty_ranking_scores_zero() -> None:
    for fn in ALL_FNS:
        assert fn([], {"a": 1}, 10) == 0.0, fn.__name__


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_cutoff_is_an_error(k: int) -> None:
    for fn in ALL_FNS:
        with pytest.raises(InvalidInputError, match="k must be >= 1"):
            fn(["a"], {"a": 1}, k)


def test_mean_counts_missing_runs_as_zero_and_ignores_unjudged_queries() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 0}, "q5": {"e": 1}}
    run = {"q1": ["a", "x", "b"], "q2": ["x", "c"], "q3": ["d"], "q4": ["z"]}
    # scored: q1, q2, q5 (q3 has no relevant document, q4 no qrels at all)
    # MRR@10: q1 = 1, q2 = 1/2, q5 missing = 0 -> (1 + 0.5 + 0) / 3 = 0.5
    assert mean_at_k(Metric.MRR, run, qrels, 10) == pytest.approx(0.5)
    assert per_query_at_k(Metric.MRR, run, qrels, 10) == {"q1": 1.0, "q2": 0.5, "q5": 0.0}
    # nDCG@10: q1 = 0.9197208, q2 = 1/log2(3) = 0.6309298, q5 = 0 -> 1.5506506 / 3
    assert mean_at_k(Metric.NDCG, run, qrels, 10) == pytest.approx(0.5168835142, abs=1e-9)


def test_mean_with_nothing_to_score_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="nothing to score"):
        mean_at_k(Metric.NDCG, {"q": ["a"]}, {"q": {"a": 0}}, 10)


# --- brute force under hypothesis ----------------------------------------------------

DOC_IDS = [f"d{i}" for i in range(8)]


def _brute_topk(ranked: Sequence[str], k: int) -> list[str]:
    unique = [d for i, d in enumerate(ranked) if d not in ranked[:i]]
    return unique[:k]


def _brute_dcg(docs: Sequence[str], qrels: Mapping[str, int]) -> float:
    return sum(max(qrels.get(d, 0), 0) / math.log(pos + 1, 2) for pos, d in enumerate(docs, 1))


def _brute_ndcg(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    # ideal DCG as the best DCG over every ordering of the judged documents
    judged = list(qrels)
    ideal = max(
        (_brute_dcg(p, qrels) for p in itertools.permutations(judged, min(k, len(judged)))),
        default=0.0,
    )
    return _brute_dcg(_brute_topk(ranked, k), qrels) / ideal if ideal > 0 else 0.0


def _brute_set_metrics(
    ranked: Sequence[str], qrels: Mapping[str, int], k: int
) -> tuple[float, float, float, float]:
    top = _brute_topk(ranked, k)
    hits = [pos for pos, d in enumerate(top, 1) if qrels.get(d, 0) >= 1]
    n_rel = sum(1 for g in qrels.values() if g >= 1)
    recall = len(hits) / n_rel if n_rel else 0.0
    mrr = 1 / hits[0] if hits else 0.0
    return recall, len(hits) / k, mrr, float(bool(hits))


rankings = st.lists(st.sampled_from(DOC_IDS), max_size=12)
judgments = st.dictionaries(st.sampled_from(DOC_IDS), st.integers(-1, 3), max_size=6)
cutoffs = st.integers(1, 12)


@settings(max_examples=300, deadline=None, database=None)
@given(ranked=rankings, qrels=judgments, k=cutoffs)
def test_metrics_match_brute_force(ranked: list[str], qrels: dict[str, int], k: int) -> None:
    assert ndcg_at_k(ranked, qrels, k) == pytest.approx(_brute_ndcg(ranked, qrels, k), abs=1e-12)
    recall, precision, mrr, hit = _brute_set_metrics(ranked, qrels, k)
    assert recall_at_k(ranked, qrels, k) == pytest.approx(recall, abs=1e-12)
    assert precision_at_k(ranked, qrels, k) == pytest.approx(precision, abs=1e-12)
    assert mrr_at_k(ranked, qrels, k) == pytest.approx(mrr, abs=1e-12)
    assert hit_at_k(ranked, qrels, k) == hit


@settings(max_examples=100, deadline=None, database=None)
@given(ranked=rankings, qrels=judgments, k=cutoffs)
def test_metrics_are_bounded_and_blind_to_duplicates(
    ranked: list[str], qrels: dict[str, int], k: int
) -> None:
    doubled = [d for d in ranked for _ in range(2)]
    for fn in ALL_FNS:
        value = fn(ranked, qrels, k)
        assert 0.0 <= value <= 1.0 + 1e-12
        assert fn(doubled, qrels, k) == value
