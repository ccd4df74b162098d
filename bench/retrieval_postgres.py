"""SciFact retrieval quality and latency on the PostgreSQL store, beside SQLite's.

Starts a private PostgreSQL (pgserver) in ``bench/.cache/pg``, seeds it with the chunks and
vectors of the SQLite benchmark store (so both backends search identical chunks and
embeddings, and nothing is re-embedded), then runs the same benchmark as
``kenning eval retrieval`` twice: with the default plan (SciFact's 11.8k chunks are over
``exact_below`` = 10k, so unfiltered dense queries go through HNSW) and with every dense
query scanned exactly. A third keyword run ranks with PostgreSQL's own full-text search
(english config, OR of the query's words, ``ts_rank_cd``) to show what the analyzer +
BM25 choice is worth.

    .venv/bin/python bench/retrieval_postgres.py --seed bench/.cache/scifact/kenning.db
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from _pgserver import ensure_database, start_server

from kenning.cli.eval import _markdown
from kenning.eval.beir import load_beir
from kenning.eval.retrieval import RetrievalReport, evaluate_run, to_dict, to_markdown_table
from kenning.eval.retrieval_benchmark import (
    DEFAULT_MODES,
    SOURCE_PREFIX,
    ModeSpec,
    run_benchmark,
)
from kenning.settings import SearchMode, Settings, StoreBackend, StoreSettings
from kenning.store.analyzer import query_terms
from kenning.store.base import DocumentWrite
from kenning.store.postgres import PostgresStore
from kenning.types import Acl, ChunkDraft, Document

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "scifact"


def seed_from_sqlite(store: PostgresStore, path: Path) -> int:
    """Copy documents, ACLs, chunks and vectors of a SQLite store, one document at a time."""
    if store.stats().documents:
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    docs = conn.execute(
        "SELECT pk, id, tenant, source, title, format, content_hash, acl_public, metadata, text"
        " FROM documents ORDER BY pk"
    ).fetchall()
    writes: list[DocumentWrite] = []
    for pk, doc_id, tenant, source, title, fmt, chash, public, meta, text in docs:
        rows = conn.execute(
            "SELECT ordinal, text, indexed_text, start_offset, end_offset, page, section,"
            " embedding FROM chunks WHERE doc_pk = ? ORDER BY ordinal",
            (pk,),
        ).fetchall()
        chunks = [
            ChunkDraft(o, t, it, s, e, p, tuple(json.loads(sec)))
            for o, t, it, s, e, p, sec, _ in rows
        ]
        vectors = np.stack([np.frombuffer(r[7], dtype=np.float32) for r in rows])
        doc = Document(
            doc_id,
            tenant,
            source,
            title,
            chash,
            fmt,
            Acl(public=bool(public)),
            json.loads(meta),
            text,
        )
        writes.append(DocumentWrite(doc, chunks, vectors))
        if len(writes) == 200:
            store.replace_documents(writes)
            writes = []
    store.replace_documents(writes)
    return len(docs)


def native_fts_keyword(dsn: str, folder: Path, split: str) -> RetrievalReport:
    """PostgreSQL's own ranking: english stemming, OR query, ts_rank_cd (no idf)."""
    dataset = load_beir(folder, split)
    qids = sorted(dataset.qrels)
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for qid in qids:
            words = [w for w in query_terms(dataset.queries[qid]) if w.isalnum()]
            started = time.perf_counter()
            rows = conn.execute(
                "WITH q AS (SELECT to_tsquery('english', %s) AS q)"
                " SELECT d.source, ts_rank_cd(to_tsvector('english', c.indexed_text), q.q) AS r"
                " FROM chunks c JOIN documents d ON d.pk = c.doc_pk, q"
                " WHERE to_tsvector('english', c.indexed_text) @@ q.q ORDER BY r DESC LIMIT 200",
                (" | ".join(words) or "''",),
            ).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
            seen: dict[str, None] = {}
            for source, _ in rows:
                seen.setdefault(str(source).removeprefix(SOURCE_PREFIX), None)
            run[qid] = list(seen)[:100]
    return evaluate_run(run, dataset.qrels, latencies_ms=latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=Path, default=ROOT / "bench/.cache/scifact/kenning.db")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()

    server = start_server(ROOT / "bench/.cache/pg")
    dsn = ensure_database(server, DATABASE)
    store = PostgresStore(dsn)
    started = time.perf_counter()
    seeded = seed_from_sqlite(store, args.seed) if args.seed.exists() else 0
    seed_s = time.perf_counter() - started
    store.close()

    results: dict[str, Any] = {"seeded_documents": seeded, "seed_seconds": round(seed_s, 1)}
    markdown = []
    for label, exact_below in (("default plan", 10_000), ("exact dense", 10**9)):
        settings = Settings(
            data_dir=ROOT / "bench/.cache/scifact-pg",
            store=StoreSettings(backend=StoreBackend.POSTGRES, dsn=dsn, exact_below=exact_below),
        )
        modes: tuple[ModeSpec, ...] = DEFAULT_MODES
        if exact_below != 10_000:
            modes = tuple(m for m in DEFAULT_MODES if m.mode is not SearchMode.KEYWORD)
        result = run_benchmark(settings, args.beir, split=args.split, modes=modes)
        results[label] = result.to_dict()
        body = _markdown(result).split("\n", 2)[2]
        markdown.append(f"## PostgreSQL, {label} (exact_below = {exact_below})\n\n{body}")
    native = native_fts_keyword(dsn, args.beir, args.split)
    results["native ts_rank_cd keyword"] = to_dict(native)
    markdown.append(
        "## PostgreSQL native full-text ranking (keyword only, for comparison)\n\n"
        + to_markdown_table({"keyword ts_rank_cd": native})
    )
    stem = f"retrieval_{args.beir.name}_{args.split}_postgres"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stem}.tables.md").write_text("\n\n".join(markdown) + "\n")
    print("\n\n".join(markdown))
    server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
