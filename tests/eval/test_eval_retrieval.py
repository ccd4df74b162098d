"""evaluate_run / run_queries / latency_summary / report rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.errors import InvalidInputError
from kenning.eval.beir import load_qrels
from kenning.eval.metrics import Metric
from kenning.eval.retrieval import (
    RetrievalReport,
    evaluate_run,
    latency_summary,
    run_queries,
    to_dict,
    to_json,
    to_markdown_table,
)

# q1: relevant at ranks 1 and 3; q2: relevant at rank 2; q3: nothing relevant (not
# scored); q4: run without qrels (ignored); q5: judged but missing from the run (zeros).
QRELS = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 0}, "q5": {"e": 1}}
RUN = {"q1": ["a", "x", "b"], "q2": ["x", "c"], "q3": ["d"], "q4": ["z"]}


class FakeClock:
    """A clock that moves only when told to: latencies become exact numbers."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_evaluate_run_hand_computed_means() -> None:
    report = evaluate_run(RUN, QRELS, ks=[1, 10])
    assert report.num_queries == 3  # q1, q2, q5
    assert report.num_missing == 1  # q5
    # nDCG@10: q1 = 1.5 / (1 + 1/log2(3)) = 0.9197208, q2 = 1/log2(3) = 0.6309298, q5 = 0
    #          mean = 1.5506506 / 3 = 0.5168835
    assert report.score(Metric.NDCG, 10) == pytest.approx(0.5168835142, abs=1e-9)
    # recall@1: q1 = 1/2 (a of a, b), q2 = 0 (x), q5 = 0 -> 0.5 / 3
    assert report.score(Metric.RECALL, 1) == pytest.approx(1 / 6)
    # MRR@10: q1 = 1, q2 = 1/2, q5 = 0 -> 0.5;  hit@1: q1 only -> 1/3
    assert report.score(Metric.MRR, 10) == pytest.approx(0.5)
    assert report.score(Metric.HIT, 1) == pytest.approx(1 / 3)
    # P@10: q1 = 2/10, q2 = 1/10, q5 = 0 -> 0.3 / 3 = 0.1
    assert report.score(Metric.PRECISION, 10) == pytest.approx(0.1)
    assert set(report.per_query) == {"q1", "q2", "q5"}
    assert report.per_query["q2"]["mrr@10"] == 0.5
    assert report.latency_ms is None


def test_evaluate_run_metric_subset_and_unknown_key() -> None:
    report = evaluate_run(RUN, QRELS, ks=[10], metrics=[Metric.NDCG])
    assert sorted(report.scores) == ["ndcg@10"]
    with pytest.raises(InvalidInputError, match=r"recall@100 not in report"):
        report.score(Metric.RECALL, 100)


@pytest.mark.parametrize("ks", [[], [0, 10], [-5]])
def test_evaluate_run_rejects_bad_cutoffs(ks: list[int]) -> None:
    with pytest.raises(InvalidInputError, match="ks must be"):
        evaluate_run(RUN, QRELS, ks=ks)


def test_evaluate_run_with_nothing_to_score_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="nothing to score"):
        evaluate_run({"q": ["a"]}, {"q": {"a": 0}, "r": {}})


def test_perfect_run_on_scifact_scores_one(scifact_dir: Path) -> None:
    qrels = load_qrels(scifact_dir, "test")
    oracle = {qid: list(judged) for qid, judged in qrels.items()}
    report = evaluate_run(oracle, qrels)
    assert report.num_queries == 300
    for metric in (Metric.NDCG, Metric.RECALL, Metric.MRR, Metric.HIT):
        assert report.score(metric, 10) == pytest.approx(1.0), metric


def test_run_queries_times_each_call_including_lazy_results() -> None:
    clock = FakeClock()
    queries = {"q1": "alpha", "q2": "beta", "q3": "gamma"}

    def search(text: str) -> Iterator[str]:
        clock.now += 0.002  # 2 ms before returning
        yield f"doc-{text}"
        clock.now += 0.0005 * len(text)  # the rest only when the caller iterates

    run, latencies = run_queries(search, queries, ["q2", "q1"], clock=clock)
    assert run == {"q2": ["doc-beta"], "q1": ["doc-alpha"]}
    # q2: 2 ms + 0.5 ms * 4 chars = 4 ms;  q1: 2 ms + 0.5 ms * 5 chars = 4.5 ms
    assert latencies == pytest.approx([4.0, 4.5])


def test_run_queries_defaults_to_all_and_rejects_unknown_ids() -> None:
    run, latencies = run_queries(lambda text: [text], {"q1": "a", "q2": "b"})
    assert run == {"q1": ["a"], "q2": ["b"]}
    assert len(latencies) == 2
    assert all(ms >= 0 for ms in latencies)
    with pytest.raises(InvalidInputError, match="1 query ids have no text"):
        run_queries(lambda text: [text], {"q1": "a"}, ["q1", "q9"])


def test_latency_summary_uses_linear_percentiles() -> None:
    # values 1..100: the p-th percentile sits at index 99 * p / 100 of the sorted values
    # p50 -> 49.5 -> between 50 and 51 = 50.5;  p90 -> 89.1 -> 90.1;  p99 -> 98.01 -> 99.01
    summary = latency_summary([float(v) for v in range(100, 0, -1)])
    assert summary == pytest.approx({"p50": 50.5, "p90": 90.1, "p99": 99.01, "mean": 50.5})
    assert latency_summary([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "mean": 7.0}
    with pytest.raises(InvalidInputError, match="no latencies"):
        latency_summary([])


def test_evaluate_run_summarises_latencies() -> None:
    report = evaluate_run(RUN, QRELS, latencies_ms=[1.0, 3.0])
    assert report.latency_ms == {"p50": 2.0, "p90": 2.8, "p99": 2.98, "mean": 2.0}


def test_to_json_round_trips_and_hides_per_query_by_default() -> None:
    report = evaluate_run(RUN, QRELS, ks=[10], latencies_ms=[1.0, 3.0])
    data = json.loads(to_json(report))
    assert data == to_dict(report)
    assert data["num_queries"] == 3
    assert data["num_missing"] == 1
    assert data["scores"]["mrr@10"] == pytest.approx(0.5)
    assert data["latency_ms"]["p50"] == 2.0
    assert "per_query" not in data
    assert json.loads(to_json(report, per_query=True))["per_query"]["q5"]["ndcg@10"] == 0.0


def test_markdown_table() -> None:
    timed = RetrievalReport(
        scores={"ndcg@10": 0.66512, "recall@100": 0.925, "mrr@10": 0.63},
        num_queries=300,
        latency_ms={"p50": 3.14159, "p90": 5.0, "p99": 12.0, "mean": 4.0},
    )
    untimed = RetrievalReport(scores={"ndcg@10": 0.7}, num_queries=300)
    table = to_markdown_table({"keyword": timed, "dense|int8": untimed})
    assert table == (
        "| mode | nDCG@10 | recall@100 | MRR@10 | p50 ms | p99 ms | queries |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| keyword | 0.6651 | 0.9250 | 0.6300 | 3.14 | 12.00 | 300 |\n"
        "| dense\\|int8 | 0.7000 | – | – | – | – | 300 |\n"
    )
