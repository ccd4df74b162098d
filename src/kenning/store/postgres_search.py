"""The two retrieval legs as PostgreSQL queries: exact BM25 and ACL-safe vector search.

Keyword leg. Chunks are analysed by Kenning's own analyzer (``analyzer.document_terms``,
Porter stems), not by a PostgreSQL text-search configuration, so both backends see the
same terms. ``chunks.terms`` holds the terms as a tsvector (GIN index: which chunks match
any query term); ``chunks.term_freqs`` their counts. Scores are Okapi BM25 computed in
SQL with the constants and corpus statistics of ``keyword_index`` (k1 = 1.2, b = 0.75,
N and average length over every stored chunk, floored idf), so rankings equal the SQLite
backend's. ``ts_rank_cd`` was not used: it has no idf, so in an OR query a frequent term
counts as much as a rare one (measured in bench/results/retrieval_scifact_test_postgres.md).

Dense leg: the rule that keeps a pre-filter exact (pgvector 0.6 has no iterative index
scans, and a filtered HNSW top-k silently loses results when few rows are admitted):

1. Count the admitted chunks (a sum of ``documents.chunk_count`` under the ACL and filter
   clauses; cached per store revision). None admitted: no hits.
2. At most ``exact_below`` admitted: exact scan of the admitted rows (the ORDER BY cannot
   use the HNSW index), recall 1.0.
3. Otherwise, pgvector >= 0.8: one filtered query with ``hnsw.iterative_scan =
   strict_order``, so the index keeps scanning until ``k`` admitted rows are found.
4. Otherwise (0.6, 0.7): over-fetch ``ef = k * OVERFETCH / admitted share`` candidates from
   the HNSW index (``hnsw.ef_search = ef``, clamped to [ef_search, 1000]) and filter them.
5. Fewer than ``min(k, admitted)`` hits survive 3 or 4: exact scan (step 2), whatever the
   count. So a result is never short; it can only be approximate when many rows are
   admitted, which is where HNSW recall is high (measured in tests/store/test_postgres.py).

The final rows' scores are recomputed in float32 from their vectors, as the SQLite
backend computes them, so both backends report the same cosines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from kenning.store.keyword_index import _MIN_IDF, K1, B
from kenning.store.sql_filters import Clause

Conn = psycopg.Connection[tuple[Any, ...]]
FloatArray = npt.NDArray[np.float32]

OVERFETCH = 4
MAX_EF_SEARCH = 1000  # pgvector's upper limit for hnsw.ef_search
MAX_LEXEME_BYTES = 2046  # PostgreSQL refuses longer tsvector lexemes
KEYWORD_WORK_MEM = "64MB"
POSTINGS_BUDGET = 20_000
"""Chunks the first keyword round may score: a few ms of JSONB lookups on this CPU."""


class DensePlan(StrEnum):
    """How one dense query was answered (recorded for tests and benchmarks)."""

    NONE = "none"
    EXACT = "exact"
    ITERATIVE = "iterative"
    HNSW = "hnsw"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """BM25 statistics over every stored chunk, as ``KeywordIndex`` keeps them."""

    chunks: int
    average_length: float

    def idf(self, df: int) -> float:
        return max(math.log((self.chunks - df + 0.5) / (df + 0.5)), _MIN_IDF)


def lexemes(terms: Sequence[str]) -> list[str]:
    """Terms PostgreSQL accepts as lexemes: not empty (a token of bare combining marks
    analyses to ""), not absurdly long (such tokens cannot match a query anyway)."""
    return [t for t in terms if 0 < len(t.encode()) <= MAX_LEXEME_BYTES]


def tsquery_any(terms: Sequence[str]) -> str:
    """``'a' | 'b'``: a tsquery matching any of ``terms`` taken literally (no parsing)."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


def vector_literal(vector: Sequence[float] | FloatArray) -> str:
    """pgvector's text input form, exact for float32 values."""
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).tolist())) + "]"


# -- keyword ------------------------------------------------------------------------------


def corpus_stats(conn: Conn) -> CorpusStats:
    row = conn.execute(
        "SELECT coalesce(sum(chunk_count), 0), coalesce(sum(token_count), 0) FROM documents"
    ).fetchone()
    chunks, tokens = (int(v) for v in row) if row else (0, 0)
    return CorpusStats(chunks, tokens / chunks if chunks else 0.0)


def document_frequencies(conn: Conn, terms: Sequence[str]) -> dict[str, int]:
    """How many chunks contain each term: primary-key lookups in ``keyword_terms``, which
    triggers on ``chunks`` keep exact (``postgres_schema``). A term never stored is 0."""
    rows = conn.execute(
        "SELECT term, df FROM keyword_terms WHERE term = ANY(%s)", (list(terms),)
    ).fetchall()
    found = {str(term): int(df) for term, df in rows}
    return {t: found.get(t, 0) for t in terms}


def bm25_scores(
    conn: Conn,
    idf: dict[str, float],
    df: dict[str, int],
    stats: CorpusStats,
    where: Clause,
    k: int,
    budget: int = POSTINGS_BUDGET,
    max_postings: int = 0,
) -> tuple[list[tuple[int, float]], bool]:
    """Top-``k`` chunks by BM25 among those matching any term of ``idf`` under ``where``;
    exact, but without scoring every chunk that holds a common term (MaxScore). Returns
    the rows and whether they are exact.

    A term adds at most ``idf * (k1 + 1)`` to any chunk's score, whatever its frequency.
    So the terms are split, rarest first, into *essential* ones, whose matching chunks
    are scored on every query term, and the rest. Once the ``k``-th best score among the
    essential terms' chunks exceeds the sum of the other terms' bounds, no chunk matching
    only common terms can enter the top ``k``, and the result equals a full scoring.
    Otherwise more terms become essential, and the threshold can only rise, so each
    round goes straight to the smallest essential set the current threshold allows.
    The first round takes the rarest terms whose postings fit in ``budget`` (at least
    one): on a million chunks a query's common terms can match a third of the table.

    ``max_postings`` (0: no limit) bounds the work: a round that would score more chunks
    than that takes the rarest terms that fit instead, or stops, and the result is the
    best among the chunks scored (not exact: a chunk holding only the common terms, all
    of them, may be missed). Scoring cost is linear in those chunks, so this caps p99.
    """
    order = sorted(idf, key=lambda t: (df.get(t, 0), t))
    bounds = [idf[t] * (K1 + 1.0) for t in order]
    rest = [sum(bounds[i:]) for i in range(len(order))] + [0.0]
    cumulative = [0]
    for term in order:
        cumulative.append(cumulative[-1] + df.get(term, 0))
    essential = 1
    while essential < len(order) and cumulative[essential + 1] <= budget:
        essential += 1
    exact = True
    while True:
        rows = _bm25_matching(conn, idf, stats, where, k, order[:essential])
        if essential == len(order):
            return rows, exact
        threshold = rows[-1][1] if len(rows) >= k else 0.0
        if threshold > rest[essential]:
            return rows, exact
        wider = range(essential + 1, len(order) + 1)
        wanted = next((i for i in wider if rest[i] < threshold), len(order))
        if max_postings and cumulative[wanted] > max_postings:
            exact = False
            fits = max(i for i in range(len(order) + 1) if cumulative[i] <= max_postings)
            if fits <= essential:
                return rows, exact
            wanted = fits
        essential = wanted


def _bm25_matching(
    conn: Conn,
    idf: dict[str, float],
    stats: CorpusStats,
    where: Clause,
    k: int,
    matching: Sequence[str],
) -> list[tuple[int, float]]:
    """Top-``k`` BM25 over every term of ``idf``, among chunks holding one of ``matching``.

    The score is one inline sum with a term per query term, not a lateral ``unnest``
    aggregated per row: at a million chunks that per-row subquery was two thirds of the
    query (7.5 s against 2.3 s on a 17-term query scoring 150k chunks). ``work_mem`` is
    raised for the transaction so the bitmap of matching chunks stays exact (not lossy,
    which rechecks whole pages)."""
    parts, params = [], []
    for term, weight in idf.items():
        parts.append(
            f"coalesce(%s * (c.term_freqs ->> %s)::float8 * {K1 + 1.0!r}"
            f" / ((c.term_freqs ->> %s)::float8 + {K1!r} * ({1.0 - B!r} + {B!r} * c.length / %s)),"
            " 0)"
        )
        params += [weight, term, term, stats.average_length]
    conn.execute("SELECT set_config('work_mem', %s, true)", (KEYWORD_WORK_MEM,))
    score = " + ".join(parts)
    rows = conn.execute(
        f"SELECT c.id, {score} AS score FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        f" WHERE c.terms @@ %s::tsquery AND {where.sql}"
        " ORDER BY score DESC, c.id LIMIT %s",
        [*params, tsquery_any(matching), *where.params, k],
    ).fetchall()
    return [(int(i), float(s)) for i, s in rows]


# -- dense --------------------------------------------------------------------------------


def admitted_chunks(conn: Conn, where: Clause) -> tuple[int, int]:
    """(chunks admitted by ``where``, chunks stored): sums over documents, no chunk scan."""
    row = conn.execute(
        f"SELECT coalesce(sum(d.chunk_count) FILTER (WHERE {where.sql}), 0),"
        " coalesce(sum(d.chunk_count), 0) FROM documents d",
        where.params,
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def exact_candidates(conn: Conn, query: str, where: Clause, k: int) -> list[int]:
    """Ids of the ``k`` admitted chunks nearest ``query``, by a full scan of admitted rows.

    ``+ 0`` keeps the planner off the HNSW index: an index order would be approximate."""
    rows = conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        f" WHERE {where.sql} ORDER BY (c.embedding <=> %s::vector) + 0, c.id LIMIT %s",
        [*where.params, query, k],
    ).fetchall()
    return [int(r[0]) for r in rows]


def iterative_candidates(
    conn: Conn, query: str, where: Clause, k: int, ef_search: int
) -> list[int]:
    """pgvector >= 0.8: the index scan continues past ``ef_search`` until ``k`` rows pass."""
    conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),))
    rows = conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
        f" WHERE {where.sql} ORDER BY c.embedding <=> %s::vector LIMIT %s",
        [*where.params, query, k],
    ).fetchall()
    return [int(r[0]) for r in rows]


def hnsw_candidates(conn: Conn, query: str, where: Clause, k: int, ef: int) -> list[int]:
    """pgvector 0.6: the ``ef`` nearest chunks from the index, then the filter."""
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef),))
    # The index answers the inner ORDER BY ... LIMIT; a planner preferring a full sort
    # on a small table would be exact anyway, but the index path is what we measure.
    conn.execute("SELECT set_config('enable_seqscan', 'off', true)")
    rows = conn.execute(
        "SELECT cand.id FROM ("
        "  SELECT c.id, c.doc_pk, c.embedding <=> %s::vector AS distance FROM chunks c"
        "  ORDER BY c.embedding <=> %s::vector LIMIT %s"
        " ) cand JOIN documents d ON d.pk = cand.doc_pk"
        f" WHERE {where.sql} ORDER BY cand.distance, cand.id LIMIT %s",
        [query, query, ef, *where.params, k],
    ).fetchall()
    conn.execute("SELECT set_config('enable_seqscan', 'on', true)")
    return [int(r[0]) for r in rows]


def overfetch(k: int, admitted: int, total: int, ef_search: int) -> int:
    """Candidates to take from the index so about ``OVERFETCH * k`` of them are admitted."""
    share = admitted / total if total else 1.0
    wanted = math.ceil(OVERFETCH * k / max(share, 1e-9))
    return max(min(wanted, MAX_EF_SEARCH), ef_search, k)


def rescore(conn: Conn, ids: Sequence[int], query: FloatArray) -> list[tuple[int, float]]:
    """Cosines of ``ids`` recomputed in float32 (as ``DenseIndex``), best first."""
    if not ids:
        return []
    rows = conn.execute(
        "SELECT id, embedding::real[] FROM chunks WHERE id = ANY(%s)", (list(ids),)
    ).fetchall()
    found = [int(r[0]) for r in rows]
    matrix = np.asarray([r[1] for r in rows], dtype=np.float32).reshape(len(rows), -1)
    scores = matrix @ query
    order = sorted(range(len(found)), key=lambda i: (-float(scores[i]), found[i]))
    return [(found[i], float(scores[i])) for i in order]
