"""Retrieval evaluation: IR metrics, BEIR dataset loading, run scoring and reports.

Self-contained on purpose (it depends only on ``kenning.errors``), so benchmarks can
score any retriever, ours or a baseline, through the same code.

    metrics.py    nDCG / recall / MRR / precision / hit at k, and their means
    beir.py       corpus.jsonl, queries.jsonl, qrels/{split}.tsv -> dataclasses
    retrieval.py  evaluate_run, run_queries, latency_summary, JSON / Markdown reports
"""

from kenning.eval.beir import (
    BeirCorpus,
    BeirDataset,
    BeirDocument,
    iter_corpus,
    load_beir,
    load_corpus,
    load_qrels,
    load_queries,
)
from kenning.eval.metrics import (
    METRICS,
    Judgments,
    Metric,
    Qrels,
    Run,
    hit_at_k,
    mean_at_k,
    mrr_at_k,
    ndcg_at_k,
    per_query_at_k,
    precision_at_k,
    recall_at_k,
)
from kenning.eval.retrieval import (
    DEFAULT_KS,
    LatencySummary,
    RetrievalReport,
    evaluate_run,
    latency_summary,
    metric_key,
    run_queries,
    to_dict,
    to_json,
    to_markdown_table,
)

__all__ = [
    "DEFAULT_KS",
    "METRICS",
    "BeirCorpus",
    "BeirDataset",
    "BeirDocument",
    "Judgments",
    "LatencySummary",
    "Metric",
    "Qrels",
    "RetrievalReport",
    "Run",
    "evaluate_run",
    "hit_at_k",
    "iter_corpus",
    "latency_summary",
    "load_beir",
    "load_corpus",
    "load_qrels",
    "load_queries",
    "mean_at_k",
    "metric_key",
    "mrr_at_k",
    "ndcg_at_k",
    "per_query_at_k",
    "precision_at_k",
    "recall_at_k",
    "run_queries",
    "to_dict",
    "to_json",
    "to_markdown_table",
]
