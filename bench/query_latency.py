"""Query latency per mode on the SciFact index and on a 100k-chunk index, and peak RSS.

Run after ``make bench-retrieval`` (which builds the SciFact index in bench/.cache/scifact):

    .venv/bin/python bench/query_latency.py [--chunks 100000] [--queries 300]

The 100k-chunk index copies SciFact's chunks (text and vectors) under new documents,
with each copy's vectors perturbed (Gaussian noise, renormalised) so dense search is not
a lookup of exact duplicates. Copies are spread over 10 ACL groups so the filtered runs
(a principal in one group: ~10% of the chunks) measure the ACL pre-filter's cost.
Query embedding is timed separately; latencies below exclude it. Writes
bench/results/query_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from kenning.embedding import make_embedder
from kenning.eval.beir import load_beir
from kenning.eval.retrieval import latency_summary
from kenning.retrieval.hybrid import Retriever
from kenning.settings import SearchMode, Settings
from kenning.store.base import DocumentWrite
from kenning.store.sqlite import SQLiteStore
from kenning.types import Acl, ChunkDraft, Document, Principal

ROOT = Path(__file__).resolve().parents[1]
SCIFACT_TENANT = "beir-scifact"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact-data-dir", type=Path, default=ROOT / "bench/.cache/scifact")
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--scale-dir", type=Path, default=ROOT / "bench/.cache/scale")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--scale-queries", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()

    settings = Settings(data_dir=args.scifact_data_dir)
    embedder = make_embedder(settings.embedding, settings.models_dir)
    dataset = load_beir(args.beir, "test")
    texts = [dataset.queries[q] for q in sorted(dataset.qrels)][: args.queries]
    embedder.warm_up()
    singles = []
    for text in texts:
        t0 = time.perf_counter()
        embedder.embed([text])
        singles.append((time.perf_counter() - t0) * 1000)
    vectors = embedder.embed(texts)

    results: dict[str, Any] = {"query_embedding_ms": latency_summary(singles)}
    scifact = SQLiteStore(settings.store_path)
    results["scifact"] = measure(
        scifact, embedder, settings, texts, vectors, Principal.system(SCIFACT_TENANT), None
    )
    scale_store = build_scale_index(scifact, args.scale_dir, args.chunks)
    one_group = Principal(tenant="scale", user_id="u1", groups=frozenset({"g3"}))
    n = args.scale_queries
    results[f"{args.chunks // 1000}k"] = measure(
        scale_store,
        embedder,
        settings,
        texts[:n],
        vectors[:n],
        Principal.system("scale"),
        one_group,
    )
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    write(results, args)


def measure(
    store: SQLiteStore,
    embedder: Any,
    settings: Settings,
    texts: list[str],
    vectors: np.ndarray,
    principal: Principal,
    filtered: Principal | None,
) -> dict[str, Any]:
    retriever = Retriever(store, embedder, settings.retrieval)
    stats = store.stats()
    out: dict[str, Any] = {"chunks": stats.chunks}
    retriever.search(texts[0], principal=principal, vector=vectors[0].tolist())  # load mirror
    for label, who in (("all", principal), ("acl_10pct", filtered)):
        if who is None:
            continue
        # Hybrid with and without the passage reranker (its sentence embeddings uncached:
        # the sentence embedder here is the plain model, the worst case).
        variants = [(m.value, m, False) for m in SearchMode]
        variants.append(("hybrid+rerank", SearchMode.HYBRID, True))
        for name, mode, rerank in variants:
            lat = []
            for text, vector in zip(texts, vectors, strict=True):
                t0 = time.perf_counter()
                retriever.search(
                    text, principal=who, k=10, mode=mode, vector=vector.tolist(), rerank=rerank
                )
                lat.append((time.perf_counter() - t0) * 1000)
            out[f"{name}/{label}"] = latency_summary(lat)
    return out


def build_scale_index(source: SQLiteStore, folder: Path, target: int) -> SQLiteStore:
    """Copy SciFact chunks under new documents until ``target`` chunks exist (cached)."""
    store = SQLiteStore(folder / "kenning.db")
    if store.stats().chunks >= target:
        return store
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(source.path)
    docs: dict[int, list[tuple[str, str, bytes]]] = {}
    for pk, text, indexed, emb in conn.execute(
        "SELECT doc_pk, text, indexed_text, embedding FROM chunks ORDER BY id"
    ):
        docs.setdefault(pk, []).append((text, indexed, emb))
    rng = np.random.default_rng(0)
    written, copy, started = store.stats().chunks, 0, time.perf_counter()
    while written < target:
        batch = []
        for pk, chunks in docs.items():
            if written + sum(len(w.chunks) for w in batch) >= target:
                break
            batch.append(_copy(pk, copy, chunks, rng))
        written += store.replace_documents(batch)
        copy += 1
        print(f"scale index: {written} chunks ({time.perf_counter() - started:.0f} s)", flush=True)
    return store


def _copy(
    pk: int, copy: int, chunks: list[tuple[str, str, bytes]], rng: np.random.Generator
) -> DocumentWrite:
    source = f"copy{copy}/{pk}"
    drafts, offset = [], 0
    for i, (text, indexed, _) in enumerate(chunks):
        drafts.append(
            ChunkDraft(
                ordinal=i, text=text, indexed_text=indexed, start=offset, end=offset + len(text)
            )
        )
        offset += len(text) + 2
    vecs = np.stack([np.frombuffer(e, dtype=np.float32) for _, _, e in chunks])
    vecs = vecs + rng.normal(0, 0.02, vecs.shape).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    acl = Acl(public=False, groups=frozenset({f"g{(pk + copy) % 10}"}))
    doc = Document(
        id=Document.make_id("scale", source),
        tenant="scale",
        source=source,
        title=source,
        content_hash=source,
        format="beir",
        acl=acl,
        text="\n\n".join(c[0] for c in chunks),
    )
    return DocumentWrite(doc, drafts, vecs.astype(np.float32))


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "query_latency.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Query latency (ms, excluding query embedding)",
        "",
        "Command: `.venv/bin/python bench/query_latency.py` (2 cores, no GPU)",
        "",
        "| index | chunks | mode / principal | p50 | p90 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for index in (k for k in results if isinstance(results[k], dict) and "chunks" in results[k]):
        r = results[index]
        for key, lat in ((k, v) for k, v in r.items() if k != "chunks"):
            lines.append(
                f"| {index} | {r['chunks']} | {key} | {lat['p50']:.2f} | "
                f"{lat['p90']:.2f} | {lat['p99']:.2f} |"
            )
    q = results["query_embedding_ms"]
    lines += [
        "",
        f"Query embedding (one query, ONNX): p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms.",
        f"Peak RSS of this process: {results['peak_rss_mb']} MB.",
    ]
    (args.out / "query_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
