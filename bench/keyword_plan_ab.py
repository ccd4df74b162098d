"""A/B of the PostgreSQL keyword leg's two plans on the 1M-chunk scale database.

    .venv/bin/python bench/keyword_plan_ab.py [--queries 50]

Needs the database ``bench/scale_postgres.py`` builds. For each SciFact test query, in
turn (so a busy machine slows both alike), it times

- **before** (store schema v1): document frequencies counted through the GIN index
  (``count(*) ... WHERE terms @@ term``), BM25 as a per-row lateral ``unnest`` summed by an
  aggregate, default ``work_mem``;
- **after** (v2, what ``PostgresStore`` runs): frequencies from ``keyword_terms``, BM25 as
  one inline sum, ``work_mem`` 64 MB;

both with the same MaxScore rounds (``bm25_scores``), and checks they return the same
top 10; and **capped**: after, with ``store.keyword_max_postings`` = 100,000 (not exact:
its top 10 is compared with the exact one). Frequencies are never cached here, as after
any write in production (the store's cache is per revision).
Writes bench/results/keyword_plan_ab.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from _pgserver import start_server

from kenning.eval.beir import load_beir
from kenning.store import postgres_search as search
from kenning.store.analyzer import query_terms
from kenning.store.keyword_index import K1, B
from kenning.store.sql_filters import Clause

ROOT = Path(__file__).resolve().parents[1]
CAP = 100_000
PLANS = ("before", "after", "capped")
Conn = psycopg.Connection[tuple[Any, ...]]


def gin_frequencies(conn: Conn, terms: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT t.term, (SELECT count(*) FROM chunks c WHERE c.terms @@ t.q)"
        " FROM unnest(%s::text[], %s::tsquery[]) AS t(term, q)",
        (list(terms), [search.tsquery_any([t]) for t in terms]),
    ).fetchall()
    return {str(term): int(df) for term, df in rows}


def lateral_matching(
    conn: Conn,
    idf: dict[str, float],
    stats: search.CorpusStats,
    where: Clause,
    k: int,
    matching: Sequence[str],
) -> list[tuple[int, float]]:
    conn.execute("SELECT set_config('work_mem', '4MB', true)")
    terms = list(idf)
    rows = conn.execute(
        "SELECT c.id, s.score FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        " CROSS JOIN LATERAL ("
        f"  SELECT sum(q.idf * f.tf * {K1 + 1.0!r}"
        f"   / (f.tf + {K1!r} * ({1.0 - B!r} + {B!r} * c.length / %s))) AS score"
        "  FROM unnest(%s::text[], %s::float8[]) AS q(term, idf)"
        "  CROSS JOIN LATERAL (SELECT (c.term_freqs ->> q.term)::float8 AS tf) f"
        "  WHERE f.tf IS NOT NULL"
        " ) s"
        f" WHERE c.terms @@ %s::tsquery AND {where.sql}"
        " ORDER BY s.score DESC, c.id LIMIT %s",
        [
            stats.average_length,
            terms,
            [idf[t] for t in terms],
            search.tsquery_any(matching),
            *where.params,
            k,
        ],
    ).fetchall()
    return [(int(i), float(s)) for i, s in rows]


def run(conn: Conn, text: str, plan: str) -> tuple[float, float, list[int]]:
    """(frequency ms, scoring ms, top ids) of one query under ``plan``."""
    where = Clause("d.tenant = %s", ("scale",))
    terms = sorted(set(search.lexemes(query_terms(text))))
    with conn.transaction():
        stats = search.corpus_stats(conn)
        t0 = time.perf_counter()
        df = (gin_frequencies if plan == "before" else search.document_frequencies)(conn, terms)
        t1 = time.perf_counter()
        idf = {t: stats.idf(df[t]) for t in terms if df.get(t)}
        original = search._bm25_matching
        if plan == "before":
            search._bm25_matching = lateral_matching  # type: ignore[assignment]
        try:
            cap = CAP if plan == "capped" else 0
            rows = search.bm25_scores(conn, idf, df, stats, where, 10, max_postings=cap)[0]
        finally:
            search._bm25_matching = original
        t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, [i for i, _ in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--server-dir", type=Path, default=ROOT / "bench/.cache/pg-scale")
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    server = start_server(args.server_dir)
    dataset = load_beir(args.beir, "test")
    texts = [dataset.queries[q] for q in sorted(dataset.qrels)][: args.queries]
    timings: dict[str, dict[str, list[float]]] = {
        p: {"df": [], "score": [], "total": []} for p in PLANS
    }
    same, overlap = 0, []
    with psycopg.connect(server.get_uri("scale")) as conn:
        chunks = search.corpus_stats(conn).chunks
        for i, text in enumerate(texts):
            tops = {}
            for plan in PLANS if i % 2 == 0 else PLANS[::-1]:
                df_ms, score_ms, tops[plan] = run(conn, text, plan)
                timings[plan]["df"].append(df_ms)
                timings[plan]["score"].append(score_ms)
                timings[plan]["total"].append(df_ms + score_ms)
            same += tops["before"] == tops["after"]
            exact_top = set(tops["after"])
            overlap.append(len(exact_top & set(tops["capped"])) / max(len(exact_top), 1))
            before, after = timings["before"]["total"][-1], timings["after"]["total"][-1]
            print(f"{i}: {before:.0f} -> {after:.0f} ms", flush=True)
    summary = {
        plan: {
            part: {
                "p50": round(float(np.percentile(v, 50)), 1),
                "p90": round(float(np.percentile(v, 90)), 1),
                "p99": round(float(np.percentile(v, 99)), 1),
            }
            for part, v in parts.items()
        }
        for plan, parts in timings.items()
    }
    capped_overlap = round(float(np.mean(overlap)), 4)
    result = {
        "chunks": chunks,
        "queries": len(texts),
        "same_top10": same,
        "capped_overlap@10": capped_overlap,
        "cap": CAP,
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "keyword_plan_ab.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# PostgreSQL keyword leg at {chunks:,} chunks: plan before and after (A/B)",
        "",
        f"Command: `.venv/bin/python bench/keyword_plan_ab.py --queries {len(texts)}` (2 cores,"
        " shared with other jobs; the plans alternate query by query). Frequencies uncached,"
        " as after any write.",
        "",
        f"Same top 10 before and after in {same} of {len(texts)} queries (both are exact BM25)."
        f" Capped at {CAP:,} scored chunks: mean overlap@10 with the exact top 10"
        f" {capped_overlap}.",
        "",
        "| plan | part | p50 ms | p90 ms | p99 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for plan, parts in summary.items():
        for part, s in parts.items():
            lines.append(f"| {plan} | {part} | {s['p50']} | {s['p90']} | {s['p99']} |")
    (args.out / "keyword_plan_ab.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
