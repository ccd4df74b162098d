"""Standard ranking metrics for one query, and their mean over a set of queries.

Conventions follow trec_eval / pytrec_eval as used by BEIR, so that numbers here can be
compared with published results:

- ``ranked`` is a best-first list of document ids. It may contain duplicates (a hybrid
  retriever that forgot to dedupe, chunks of one document); **only the first occurrence
  counts** and later ones are dropped *before* the cutoff, so a duplicate neither scores
  twice nor pushes another document out of the top k. trec_eval cannot see duplicates
  at all (a run is a dict), so this is the only reading under which both agree.
- ``qrels`` maps a document id to an integer grade. A document is *relevant* when its
  grade is > 0 (trec_eval's default ``relevance_level=1``); unjudged documents count as
  grade 0; negative grades are treated as 0 (they must not make a ranking score less
  than returning nothing).
- ``k`` must be >= 1. Every metric is in [0, 1] and is 0 for a query with no relevant
  document (such a query is usually excluded from the mean; see ``mean_at_k``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum

from kenning.errors import InvalidInputError

Judgments = Mapping[str, int]
"""Graded relevance of documents for one query: doc id -> grade."""

Qrels = Mapping[str, Judgments]
"""Relevance judgments of a query set: query id -> doc id -> grade."""

Run = Mapping[str, Sequence[str]]
"""Retrieval results of a query set: query id -> best-first doc ids."""

MetricFn = Callable[[Sequence[str], Judgments, int], float]


class Metric(StrEnum):
    """Names of the metrics; the value is the prefix of report keys like ``ndcg@10``."""

    NDCG = "ndcg"
    RECALL = "recall"
    MRR = "mrr"
    PRECISION = "precision"
    HIT = "hit"


def top_k(ranked: Sequence[str], k: int) -> list[str]:
    """First ``k`` distinct ids of ``ranked``, keeping each id's first occurrence."""
    if k < 1:
        raise InvalidInputError(f"cutoff k must be >= 1, got {k}")
    seen: set[str] = set()
    kept: list[str] = []
    for doc_id in ranked:
        if doc_id not in seen:
            seen.add(doc_id)
            kept.append(doc_id)
            if len(kept) == k:
                break
    return kept


def relevant_ids(qrels: Judgments) -> set[str]:
    """Ids judged relevant (grade > 0)."""
    return {doc_id for doc_id, grade in qrels.items() if grade > 0}


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: ``sum_i gain_i / log2(i + 1)`` over ranks i = 1, 2, ..."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], qrels: Judgments, k: int = 10) -> float:
    """Normalised DCG at k with linear gain (trec_eval ``ndcg_cut_k``, as in BEIR).

    ``DCG@k = sum_{i=1..k} rel_i / log2(i + 1)`` where ``rel_i`` is the grade of the
    document at rank i; ``IDCG@k`` is the DCG of the k highest grades in ``qrels``
    sorted descending; ``nDCG@k = DCG@k / IDCG@k``, and 0 when no document is relevant.
    Linear gain (not ``2^rel - 1``) is what trec_eval uses; with binary grades the two
    are identical.
    """
    gains = [max(qrels.get(doc_id, 0), 0) for doc_id in top_k(ranked, k)]
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    ideal_dcg = dcg(ideal)
    return dcg(gains) / ideal_dcg if ideal_dcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], qrels: Judgments, k: int = 100) -> float:
    """Share of the relevant documents found in the top k: ``|rel ∩ top_k| / |rel|``.

    0 when nothing is relevant. The denominator is all relevant documents, not
    ``min(k, |rel|)``, as in trec_eval ``recall_k`` and BEIR.
    """
    relevant = relevant_ids(qrels)
    if not relevant:
        return 0.0
    return len(relevant.intersection(top_k(ranked, k))) / len(relevant)


def precision_at_k(ranked: Sequence[str], qrels: Judgments, k: int = 10) -> float:
    """``|rel ∩ top_k| / k``: the denominator is k even when fewer were returned.

    Dividing by k (trec_eval ``P_k``) means a retriever gains nothing by returning less.
    """
    relevant = relevant_ids(qrels)
    return len(relevant.intersection(top_k(ranked, k))) / k


def mrr_at_k(ranked: Sequence[str], qrels: Judgments, k: int = 10) -> float:
    """Reciprocal rank ``1 / r`` of the first relevant document if ``r <= k``, else 0.

    Equals trec_eval ``recip_rank`` evaluated on the run truncated to k.
    """
    relevant = relevant_ids(qrels)
    for rank, doc_id in enumerate(top_k(ranked, k), start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def hit_at_k(ranked: Sequence[str], qrels: Judgments, k: int = 10) -> float:
    """1 if any relevant document is in the top k, else 0 (trec_eval ``success_k``)."""
    relevant = relevant_ids(qrels)
    return 1.0 if relevant.intersection(top_k(ranked, k)) else 0.0


METRICS: Mapping[Metric, MetricFn] = {
    Metric.NDCG: ndcg_at_k,
    Metric.RECALL: recall_at_k,
    Metric.MRR: mrr_at_k,
    Metric.PRECISION: precision_at_k,
    Metric.HIT: hit_at_k,
}


def scored_query_ids(qrels: Qrels) -> list[str]:
    """Queries that can be scored: those with at least one relevant document, sorted.

    A query whose judgments are all 0 has an ideal DCG of 0; scoring it would add a
    constant 0 that measures the judges, not the retriever (BEIR drops such queries).
    """
    return sorted(qid for qid, judgments in qrels.items() if relevant_ids(judgments))


def per_query_at_k(metric: Metric, run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """``metric@k`` of every scored query; a query missing from ``run`` scores 0.

    Queries in ``run`` without relevance judgments are ignored (not scored).
    """
    fn = METRICS[metric]
    return {qid: fn(run.get(qid, ()), qrels[qid], k) for qid in scored_query_ids(qrels)}


def mean_at_k(metric: Metric, run: Run, qrels: Qrels, k: int) -> float:
    """Arithmetic mean of ``metric@k`` over the scored queries.

    Missing runs count as zeros, like ``trec_eval -c``: a retriever that crashes on a
    query must not look better for it. Raises ``InvalidInputError`` when no query can be
    scored, because a silent 0 (or NaN) would end up in a results table.
    """
    scores = per_query_at_k(metric, run, qrels, k)
    if not scores:
        raise InvalidInputError("no query has a relevant document: nothing to score")
    return math.fsum(scores.values()) / len(scores)
