"""The PostgreSQL store at a million chunks: load, index build, disk, latency, recall.

    .venv/bin/python bench/scale_postgres.py [--chunks 1000000] [--queries 100]

Builds (once; later runs reuse it) a private PostgreSQL (pgserver, PostgreSQL 16.2 +
pgvector 0.6.2) in ``bench/.cache/pg-scale`` holding SciFact's chunks copied under new
documents until ``--chunks`` exist in tenant ``scale``:

- copy 0 of SciFact goes through ``PostgresStore.replace_documents`` (so the rows are
  exactly what Kenning writes: analysed terms, term frequencies, lengths);
- every further copy is bulk-loaded with ``COPY`` from those rows, its vectors perturbed
  (Gaussian noise, sigma 0.02, renormalised) so dense search is not a lookup of exact
  duplicates; the keyword leg sees real text repeated under new ids;
- each document gets two ACL groups: ``p<pk % 100>`` (1% of the chunks) and
  ``d<pk % 10>`` (10%), so filtered queries run as a member of one of them;
- indexes are built after the load and timed one by one (HNSW m=16, ef_construction=64,
  ``maintenance_work_mem`` large enough for the graph, one parallel worker on 2 cores).

Then 100 SciFact test queries run through Kenning's ``Retriever`` (query embedding
excluded) for keyword, dense and hybrid at k=10, unfiltered and under each ACL filter,
and dense recall@10 is measured against an exact scan of the same admitted rows.
Writes bench/results/scale_postgres.{json,md}.
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

from kenning.embedding import make_embedder
from kenning.eval.beir import load_beir
from kenning.eval.retrieval import latency_summary
from kenning.retrieval.hybrid import Retriever
from kenning.settings import SearchMode, Settings
from kenning.store.base import DocumentWrite
from kenning.store.postgres import PostgresStore
from kenning.store.postgres_search import vector_literal
from kenning.types import Acl, ChunkDraft, Document, Principal

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "scale"
BASE, TENANT = "base", "scale"
SECONDARY_INDEXES = {
    "chunks_by_doc": "CREATE INDEX chunks_by_doc ON chunks (doc_pk, ordinal)",
    "chunks_by_hash": "CREATE INDEX chunks_by_hash ON chunks (text_hash)",
    "chunks_terms": "CREATE INDEX chunks_terms ON chunks USING gin (terms)",
    "chunks_embedding": "CREATE INDEX chunks_embedding ON chunks"
    " USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)",
}
CHUNK_COLUMNS = (
    "doc_pk, ordinal, text, indexed_text, start_offset, end_offset, page, section,"
    " text_hash, terms, term_freqs, length, embedding"
)

# The base rows as text, so COPY writes back exactly what was read.
BASE_COLUMNS = (
    "c.doc_pk, c.ordinal, c.text, c.indexed_text, c.start_offset, c.end_offset, c.page,"
    " c.section::text, c.text_hash, c.terms::text, c.term_freqs::text, c.length,"
    " c.embedding::text"
)


def seed_base(store: PostgresStore, sqlite_path: Path) -> None:
    """SciFact's documents, chunks and vectors as Kenning writes them, in tenant ``base``."""
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    docs = conn.execute(
        "SELECT pk, source, title, content_hash, text FROM documents ORDER BY pk"
    ).fetchall()
    writes: list[DocumentWrite] = []
    for pk, source, title, chash, text in docs:
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
            Document.make_id(BASE, source), BASE, source, title, chash, "beir",
            Acl(public=True), {}, text,
        )  # fmt: skip
        writes.append(DocumentWrite(doc, chunks, vectors))
        if len(writes) == 500:
            store.replace_documents(writes)
            writes = []
    store.replace_documents(writes)


def drop_secondary_indexes(conn: psycopg.Connection[Any]) -> None:
    for name in SECONDARY_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")


def load_copies(conn: psycopg.Connection[Any], target: int) -> dict[str, float]:
    """COPY perturbed copies of the base tenant's chunks until ``target`` exist in ``scale``."""
    base = conn.execute(
        f"SELECT {BASE_COLUMNS} FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        " WHERE d.tenant = %s"
        " ORDER BY c.doc_pk, c.ordinal",
        (BASE,),
    ).fetchall()
    vectors = np.stack([np.array(json.loads(r[-1]), dtype=np.float32) for r in base])
    have = conn.execute(
        "SELECT coalesce(sum(chunk_count), 0), count(*) FROM documents WHERE tenant = %s",
        (TENANT,),
    ).fetchone()
    written, copy = int(have[0]), int(conn.execute(
        "SELECT count(DISTINCT split_part(source, '/', 1)) FROM documents WHERE tenant = %s",
        (TENANT,),
    ).fetchone()[0])  # fmt: skip
    rng = np.random.default_rng(copy)
    started = time.perf_counter()
    while written < target:
        with conn.transaction():
            new_pk = dict(
                conn.execute(
                    "INSERT INTO documents (id, tenant, source, title, format, content_hash,"
                    " acl_public, metadata, text, chunk_count, token_count, created_at,"
                    " updated_at)"
                    " SELECT %s || id, %s, %s || source, title, format, content_hash, false,"
                    " metadata, text, chunk_count, token_count, created_at, updated_at"
                    " FROM documents WHERE tenant = %s RETURNING pk, id",
                    (f"c{copy}-", TENANT, f"copy{copy}/", BASE),
                ).fetchall()
            )
            by_base_id = {doc_id.split("-", 1)[1]: pk for pk, doc_id in new_pk.items()}
            base_pk = dict(
                conn.execute("SELECT pk, id FROM documents WHERE tenant = %s", (BASE,)).fetchall()
            )
            noisy = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            with conn.cursor().copy(f"COPY chunks ({CHUNK_COLUMNS}) FROM STDIN") as cp:
                for row, vec in zip(base, noisy, strict=True):
                    cp.write_row((by_base_id[base_pk[row[0]]], *row[1:-1], vector_literal(vec)))
            for prefix, groups in (("p", 100), ("d", 10)):
                conn.execute(
                    "INSERT INTO acl_entries (doc_pk, kind, name)"
                    " SELECT pk, 'group', %s || (pk %% %s) FROM documents"
                    " WHERE tenant = %s AND source LIKE %s",
                    (prefix, groups, TENANT, f"copy{copy}/%"),
                )
        written += len(base)
        copy += 1
        print(f"loaded {written} chunks ({time.perf_counter() - started:.0f} s)", flush=True)
    conn.execute("UPDATE store_meta SET value = (value::bigint + 1)::text WHERE key = 'revision'")
    return {"load_seconds": round(time.perf_counter() - started, 1), "copies": copy}


def build_indexes(conn: psycopg.Connection[Any]) -> dict[str, float]:
    conn.execute("SET maintenance_work_mem = '6GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    seconds: dict[str, float] = {}
    for name, ddl in SECONDARY_INDEXES.items():
        if conn.execute("SELECT 1 FROM pg_class WHERE relname = %s", (name,)).fetchone():
            continue
        started = time.perf_counter()
        conn.execute(ddl)
        seconds[name] = round(time.perf_counter() - started, 1)
        print(f"index {name}: {seconds[name]} s", flush=True)
    started = time.perf_counter()
    conn.execute("VACUUM ANALYZE")
    seconds["vacuum_analyze"] = round(time.perf_counter() - started, 1)
    return seconds


def sizes(conn: psycopg.Connection[Any]) -> dict[str, float]:
    mb = 1024 * 1024
    out = {"database_mb": conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]}
    for rel in ("documents", "chunks", "acl_entries", *SECONDARY_INDEXES):
        out[f"{rel}_mb"] = conn.execute("SELECT pg_total_relation_size(%s)", (rel,)).fetchone()[0]
    return {k: round(v / mb, 1) for k, v in out.items()}


EF_SWEEP = (200, 400, 800, 1000)


def base_chunks(conn: psycopg.Connection[Any], chunk_ids: set[int]) -> set[tuple[str, int]]:
    """The SciFact chunk each copy was made from: (source without ``copyN/``, ordinal).
    Every copy of an abstract holds the same text, so an index returning copy 17 where an
    exact scan returned copy 42 (their cosines differ by the added noise only) still
    found the right content; ``dense_content_recall`` counts that, id recall does not."""
    rows = conn.execute(
        "SELECT d.source, c.ordinal FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        " WHERE c.id = ANY(%s)",
        (list(chunk_ids),),
    ).fetchall()
    return {(str(source).split("/", 1)[-1], int(ordinal)) for source, ordinal in rows}


def measure(dsn: str, texts: list[str], vectors: np.ndarray, recall_queries: int) -> dict[str, Any]:
    settings = Settings(data_dir=ROOT / "bench/.cache/pg-scale-settings")
    embedder = make_embedder(settings.embedding, settings.models_dir)
    store = PostgresStore(dsn, pool_size=2)
    settings_ef, settings_growth = store.ef_search, store.ef_search_per_million
    exact = PostgresStore(dsn, pool_size=2, exact_below=10**12)
    lookup = psycopg.connect(dsn, autocommit=True)  # maps returned chunks to their abstract
    retriever = Retriever(store, embedder, settings.retrieval)
    principals = {
        "all": Principal.system(TENANT),
        "acl_10pct": Principal(tenant=TENANT, user_id="u1", groups=frozenset({"d3"})),
        "acl_1pct": Principal(tenant=TENANT, user_id="u1", groups=frozenset({"p7"})),
    }
    out: dict[str, Any] = {}
    for label, who in principals.items():
        retriever.search(texts[0], principal=who, k=10, vector=vectors[0].tolist())  # warm
        # The passage reranker's cost (sentence embeddings of 30 candidates) does not
        # depend on the index size: hybrid is measured without it, and once with it.
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
            print(f"{name}/{label}: p50 {out[f'{name}/{label}']['p50']:.1f} ms")
        truths = [
            exact.dense_scores(vector.tolist(), principal=who, k=10)
            for vector in vectors[:recall_queries]
        ]
        # The default (ef_search grown with the index) first, then fixed values.
        for ef in (None, *EF_SWEEP) if label == "all" else (None,):
            store.ef_search = settings_ef if ef is None else ef
            store.ef_search_per_million = settings_growth if ef is None else 0
            ids, content, plans = [], [], []
            for vector, truth in zip(vectors[:recall_queries], truths, strict=False):
                got = store.dense_scores(vector.tolist(), principal=who, k=10)
                plans.append(store.last_dense_plan.value)
                want = {c for c, _ in truth}
                ids.append(len(want & {c for c, _ in got}) / max(len(want), 1))
                wanted = base_chunks(lookup, want)
                found = base_chunks(lookup, {c for c, _ in got})
                content.append(len(wanted & found) / max(len(wanted), 1))
            suffix = "" if ef is None else f"@ef{ef}"
            out[f"dense_recall@10/{label}{suffix}"] = round(float(np.mean(ids)), 4)
            out[f"dense_content_recall@10/{label}{suffix}"] = round(float(np.mean(content)), 4)
            out[f"dense_plan/{label}{suffix}"] = max(set(plans), key=plans.count)
            print(
                f"recall@10/{label}{suffix}: ids {out[f'dense_recall@10/{label}{suffix}']},"
                f" content {out[f'dense_content_recall@10/{label}{suffix}']} ({plans[0]})",
                flush=True,
            )
        store.ef_search, store.ef_search_per_million = settings_ef, settings_growth
    store.close()
    exact.close()
    lookup.close()
    return out


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale_postgres.json").write_text(json.dumps(results, indent=2) + "\n")
    q = results["queries"]
    lines = [
        f"# PostgreSQL store at {results['chunks']:,} chunks",
        "",
        "Command: `.venv/bin/python bench/scale_postgres.py` (2 cores, no GPU, 24 GiB;"
        " PostgreSQL 16.2 + pgvector 0.6.2 from pgserver, default shared_buffers 128 MB).",
        "",
        "## Build",
        "",
        f"- Bulk load (COPY of perturbed SciFact copies): {results['load']['load_seconds']} s",
        f"- Schema check/upgrade at start: {results.get('schema_seconds', 0)} s (store schema"
        " v1 -> v2 counts every stored chunk's terms into `keyword_terms` once)",
    ]
    lines += [f"- index `{k}`: {v} s" for k, v in results["index_seconds"].items()]
    lines += ["", "## Disk (MB)", "", "| relation | MB |", "|---|---|"]
    lines += [f"| {k.removesuffix('_mb')} | {v} |" for k, v in results["sizes"].items()]
    lines += [
        "",
        "## Query latency, k=10 (ms, query embedding excluded)",
        "",
        f"{q['count']} SciFact test queries per row; ACL filters admit ~10% and ~1% of chunks."
        " Keyword: exact BM25 with MaxScore over GIN matches, document frequencies from"
        " `keyword_terms`. Hybrid: both legs and fusion; `hybrid+rerank` adds the passage"
        " reranker (sentence embeddings of 30 candidates, independent of index size).",
        "",
        "| mode / principal | p50 | p90 | p99 |",
        "|---|---|---|---|",
    ]
    for key, lat in results["latency"].items():
        if isinstance(lat, dict):
            lines.append(f"| {key} | {lat['p50']:.1f} | {lat['p90']:.1f} | {lat['p99']:.1f} |")
    lines += ["", "## Dense recall@10 against an exact scan of the same admitted rows", ""]
    lines += [
        "Id recall counts the exact scan's chunk ids found; content recall counts the SciFact",
        "chunks they are copies of (copies hold the same text; see `base_chunks`).",
        "",
        "| principal | ef_search | recall@10 (ids) | recall@10 (content) | plan |",
        "|---|---|---|---|---|",
    ]
    lat = results["latency"]
    default_ef = f"default ({results.get('default_ef_search', '?')})"
    for key in [k for k in lat if k.startswith("dense_recall@10/")]:
        rest = key.removeprefix("dense_recall@10/")
        label, _, ef = rest.partition("@ef")
        lines.append(
            f"| {label} | {ef or default_ef} | {lat[key]} |"
            f" {lat.get(f'dense_content_recall@10/{rest}', '')} | {lat[f'dense_plan/{rest}']} |"
        )
    (out / "scale_postgres.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--recall-queries", type=int, default=30)
    parser.add_argument("--seed", type=Path, default=ROOT / "bench/.cache/scifact/kenning.db")
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--server-dir", type=Path, default=ROOT / "bench/.cache/pg-scale")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()

    server = start_server(args.server_dir)
    dsn = ensure_database(server, DATABASE)
    results: dict[str, Any] = {}
    store = PostgresStore(dsn)
    started = time.perf_counter()
    store.warm_up()  # creates the schema, or upgrades an older one (timed: it may count terms)
    results["schema_seconds"] = round(time.perf_counter() - started, 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        fresh = not conn.execute("SELECT 1 FROM documents WHERE tenant = %s", (BASE,)).fetchone()
        if fresh:
            drop_secondary_indexes(conn)
    if fresh:
        seed_base(store, args.seed)
    store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        if (
            conn.execute(
                "SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE tenant = %s", (TENANT,)
            ).fetchone()[0]
            < args.chunks
        ):
            drop_secondary_indexes(conn)
            results["load"] = load_copies(conn, args.chunks)
            results["index_seconds"] = build_indexes(conn)
        else:
            previous = json.loads((args.out / "scale_postgres.json").read_text())
            results["load"], results["index_seconds"] = previous["load"], previous["index_seconds"]
        results["chunks"] = conn.execute(
            "SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE tenant = %s", (TENANT,)
        ).fetchone()[0]
        results["sizes"] = sizes(conn)

    settings = Settings(data_dir=ROOT / "bench/.cache/pg-scale-settings")
    embedder = make_embedder(settings.embedding, settings.models_dir)
    dataset = load_beir(args.beir, "test")
    texts = [dataset.queries[q] for q in sorted(dataset.qrels)][: args.queries]
    vectors = embedder.embed(texts)
    results["queries"] = {"count": len(texts)}
    results["default_ef_search"] = PostgresStore(dsn).scaled_ef_search(int(results["chunks"]))
    results["latency"] = measure(dsn, texts, vectors, args.recall_queries)
    write(results, args.out)
    server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
