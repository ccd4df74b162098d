"""Tune hybrid fusion on SciFact *train* queries (never test): RRF k and convex alpha.

Both legs are retrieved once per query (depth 100) from the index that
``make bench-retrieval`` built, then fused in memory for every grid point.

    .venv/bin/python bench/tune_fusion.py

Writes bench/results/fusion_tuning_train.{json,md}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kenning.eval.beir import load_beir
from kenning.eval.metrics import Metric, mean_at_k
from kenning.retrieval.fusion import convex_combination, reciprocal_rank_fusion
from kenning.settings import Settings
from kenning.store.base import ScoredChunk, Store
from kenning.types import Principal
from kenning.wiring import Components

ROOT = Path(__file__).resolve().parents[1]
DEPTH = 100


def chunk_sources(store: Store, principal: Principal, legs: Iterable[list[ScoredChunk]]) -> None:
    """Fill ``SOURCE`` with the source of every chunk id the legs mention."""
    ids = {cid for leg in legs for cid, _ in leg if cid not in SOURCE}
    for hit in store.load_hits(principal, [(cid, 0.0) for cid in ids]):
        SOURCE[hit.chunk.id] = hit.source.removeprefix("beir:")


SOURCE: dict[int, str] = {}


def ranked_docs(pairs: list[ScoredChunk]) -> list[str]:
    seen: dict[str, None] = {}
    for cid, _ in pairs:
        seen.setdefault(SOURCE[cid], None)
    return list(seen)


def main() -> None:
    folder = ROOT.parent / "shared/data/beir/scifact"
    dataset = load_beir(folder, "train")
    components = Components(Settings(data_dir=ROOT / "bench/.cache/scifact"))
    store, embedder = components.store, components.embedder
    principal = Principal.system("beir-scifact")
    qids = sorted(dataset.qrels)
    vectors = embedder.embed([dataset.queries[q] for q in qids])
    legs = {}
    for qid, vec in zip(qids, vectors, strict=True):
        kw = store.keyword_scores(dataset.queries[qid], principal=principal, k=DEPTH)
        dn = store.dense_scores(vec.tolist(), principal=principal, k=DEPTH)
        chunk_sources(store, principal, (kw, dn))
        legs[qid] = (kw, dn)

    def score(fuse: object) -> float:
        run = {q: ranked_docs(fuse(kw, dn))[:DEPTH] for q, (kw, dn) in legs.items()}  # type: ignore[operator]
        return round(mean_at_k(Metric.NDCG, run, dataset.qrels, 10), 4)

    results: dict[str, float] = {
        "keyword": score(lambda kw, dn: kw),
        "dense": score(lambda kw, dn: dn),
    }
    for k in (5, 10, 20, 40, 60, 100):
        results[f"rrf k={k}"] = score(lambda kw, dn, k=k: reciprocal_rank_fusion([kw, dn], k=k))
    for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        results[f"convex alpha={alpha}"] = score(
            lambda kw, dn, a=alpha: convex_combination([kw, dn], weights=[1 - a, a])
        )
    out = ROOT / "bench/results"
    (out / "fusion_tuning_train.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Fusion tuning on SciFact train (nDCG@10; 809 queries)",
        "",
        "Command: `.venv/bin/python bench/tune_fusion.py`",
        "",
        "| configuration | nDCG@10 (train) |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in results.items()]
    (out / "fusion_tuning_train.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    components.close()


if __name__ == "__main__":
    main()
