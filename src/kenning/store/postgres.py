"""The server store: PostgreSQL with pgvector, for many processes sharing one index.

The same contract as ``SQLiteStore`` (``tests/store/contract.py`` runs against both), but
nothing is mirrored in memory: PostgreSQL is the index. Each ``replace_documents`` call
is one transaction (a reader sees the old or the new version, never a mix), and ends by
bumping ``store_meta.revision``, the only thing cached per process is keyed on: BM25
corpus statistics and admitted-chunk counts. How each leg searches, and why the ACL
pre-filter stays exact under selective filters, is in ``postgres_search``.

Text is sent with NUL characters replaced by U+FFFD (PostgreSQL text cannot hold NUL);
one character for one keeps every offset, so citations still point at the right span.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool

from kenning.embedding.base import Vector
from kenning.errors import NotFoundError, StoreError
from kenning.store import postgres_search as search
from kenning.store.analyzer import document_terms, query_terms
from kenning.store.base import DocumentWrite, HitSearch, ScoredChunk, StoredVersion, StoreStats
from kenning.store.postgres_filters import access_clause, filter_clause
from kenning.store.postgres_schema import ensure_schema
from kenning.store.sql_filters import Clause
from kenning.store.sqlite import text_hash
from kenning.types import Acl, Chunk, Document, Hit, Principal, SearchFilter

Conn = psycopg.Connection[tuple[Any, ...]]

EXACT_BELOW = 10_000
"""Admitted chunks up to which the dense leg scans exactly (about 15 ms here, see docs)."""
EF_SEARCH = 200
"""HNSW candidate list for broad filters: on random 384-d vectors recall@10 is 0.59 at
pgvector's default of 40, 0.88 at 100, 0.97 at 200 (tests/store/test_postgres.py)."""
EF_SEARCH_PER_MILLION = 1000
"""...and more on a large index: HNSW recall falls as the graph grows (at 1M SciFact-copy
chunks, content recall@10 0.79 at ef_search 200, 0.84 at 400, 0.96 at 800, 0.97 at 1000;
bench/results/scale_postgres.md), so the list grows with the stored chunks."""
_CACHE_SIZE = 256
_DOC_COLUMNS = "pk, id, tenant, source, title, content_hash, format, acl_public, metadata"
_HIT_COLUMNS = (
    "c.id, d.id, c.ordinal, c.text, c.indexed_text, c.start_offset, c.end_offset, "
    "c.page, c.section, d.title, d.source"
)


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


class PostgresStore(HitSearch):
    """``Store`` on a PostgreSQL database with pgvector; safe to share between threads."""

    def __init__(
        self,
        dsn: str,
        *,
        dimensions: int = 384,
        pool_size: int = 4,
        exact_below: int = EXACT_BELOW,
        ef_search: int = EF_SEARCH,
        ef_search_per_million: int = EF_SEARCH_PER_MILLION,
        keyword_budget: int = search.POSTINGS_BUDGET,
        keyword_max_postings: int = 0,
        read_dsn: str | None = None,
    ) -> None:
        self.dimensions = dimensions
        self.keyword_budget = keyword_budget
        self.keyword_max_postings = keyword_max_postings
        self.last_keyword_exact = True
        self.exact_below = exact_below
        self.ef_search = ef_search
        self.ef_search_per_million = ef_search_per_million
        self.last_dense_plan = search.DensePlan.NONE
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": True}
        )
        # Searches may go to a read replica; everything else (writes, the schema, what
        # ingestion reads to decide what changed, document listings) stays on the primary,
        # so a lagging replica can only delay when a new document becomes searchable.
        self._search_pool: ConnectionPool[Conn] | None = (
            ConnectionPool(
                read_dsn, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": True}
            )
            if read_dsn
            else None
        )
        self._iterative_scans = False
        self._lock = threading.Lock()
        self._cache_revision = -1
        self._admitted_hits = self._admitted_misses = 0
        self._stats: search.CorpusStats | None = None
        self._df: dict[str, int] = {}
        self._admitted: dict[tuple[str, str], tuple[int, int]] = {}
        self._ready = False

    # -- connection management -------------------------------------------------------

    def warm_up(self) -> None:
        """Connect, create the schema if needed, and learn what the pgvector build can do."""
        with self._lock:
            if self._ready:
                return
            try:
                self._pool.open(wait=True, timeout=30.0)
                if self._search_pool is not None:
                    self._search_pool.open(wait=True, timeout=30.0)
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
            with self._pool.connection() as conn:
                ensure_schema(conn, self.dimensions)
                row = conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
                ).fetchone()
            version = tuple(int(p) for p in str(row[0] if row else "0").split(".")[:2])
            self._iterative_scans = version >= (0, 8)
            self._ready = True

    def close(self) -> None:
        self._pool.close()
        if self._search_pool is not None:
            self._search_pool.close()

    @contextmanager
    def _read(self, *, search: bool = False) -> Iterator[Conn]:
        """One read-only snapshot: the revision, statistics and results agree. ``search``
        reads go to the read replica when one is configured."""
        if not self._ready:
            self.warm_up()
        pool = self._search_pool if search and self._search_pool is not None else self._pool
        with pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Conn]:
        """A write transaction that bumps the revision last; rolled back on any error."""
        if not self._ready:
            self.warm_up()
        with self._pool.connection() as conn:
            try:
                with conn.transaction():
                    yield conn
                    conn.execute(
                        "UPDATE store_meta SET value = (value::bigint + 1)::text"
                        " WHERE key = 'revision'"
                    )
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                raise StoreError(f"write refused by PostgreSQL: {exc}") from exc

    # -- model binding -----------------------------------------------------------------

    def bind_embedder(self, name: str, dimensions: int) -> None:
        if dimensions != self.dimensions:
            raise StoreError(f"store expects {self.dimensions}-d vectors, model gives {dimensions}")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES ('embedder', %s)"
                " ON CONFLICT (key) DO NOTHING",
                (name,),
            )
            row = conn.execute("SELECT value FROM store_meta WHERE key = 'embedder'").fetchone()
            if row is not None and row[0] != name:
                raise StoreError(
                    f"this store was indexed with embedding model {row[0]!r}, "
                    f"but {name!r} is configured; use a new database or re-index"
                )

    # -- writes ------------------------------------------------------------------------

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> int:
        for write in writes:
            if len(write.chunks) != len(write.vectors):
                raise StoreError(f"{len(write.chunks)} chunks but {len(write.vectors)} vectors")
        with self._write() as conn:
            return sum(self._replace_one(conn, write) for write in writes)

    def _replace_one(self, conn: Conn, write: DocumentWrite) -> int:
        analysed = [document_terms(c.indexed_text) for c in write.chunks]
        pk = self._upsert_document(conn, write.document, analysed)
        conn.execute("DELETE FROM chunks WHERE doc_pk = %s", (pk,))
        self._write_acl(conn, pk, write.document.acl)
        vectors = np.asarray(write.vectors, dtype=np.float32)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chunks (doc_pk, ordinal, text, indexed_text, start_offset,"
                " end_offset, page, section, text_hash, terms, term_freqs, length, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " array_to_tsvector(%s::text[]), %s::jsonb, %s, %s::vector)",
                [
                    (
                        pk,
                        c.ordinal,
                        _text(c.text),
                        _text(c.indexed_text),
                        c.start,
                        c.end,
                        c.page,
                        json.dumps([_text(s) for s in c.section]),
                        text_hash(c.indexed_text),
                        search.lexemes(list(counts)),
                        json.dumps(counts),
                        length,
                        search.vector_literal(vectors[i]),
                    )
                    for i, (c, (counts, length)) in enumerate(
                        zip(write.chunks, analysed, strict=True)
                    )
                ],
            )
        return len(write.chunks)

    @staticmethod
    def _upsert_document(conn: Conn, doc: Document, analysed: Sequence[tuple[object, int]]) -> int:
        now = time.time()
        row = conn.execute(
            "INSERT INTO documents (id, tenant, source, title, format, content_hash, acl_public,"
            " metadata, text, chunk_count, token_count, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET title = excluded.title, format = excluded.format,"
            " content_hash = excluded.content_hash, acl_public = excluded.acl_public,"
            " metadata = excluded.metadata, text = excluded.text,"
            " chunk_count = excluded.chunk_count, token_count = excluded.token_count,"
            " updated_at = excluded.updated_at RETURNING pk, tenant",
            (
                doc.id,
                doc.tenant,
                _text(doc.source),
                _text(doc.title),
                _text(doc.format),
                _text(doc.content_hash),
                doc.acl.public,
                json.dumps({_text(k): _text(v) for k, v in doc.metadata.items()}),
                _text(doc.text),
                len(analysed),
                sum(length for _, length in analysed),
                now,
                now,
            ),
        ).fetchone()
        if row is None or row[1] != doc.tenant:
            raise StoreError(f"document id {doc.id} belongs to another tenant")
        return int(row[0])

    @staticmethod
    def _write_acl(conn: Conn, pk: int, acl: Acl) -> None:
        conn.execute("DELETE FROM acl_entries WHERE doc_pk = %s", (pk,))
        entries = [(pk, "user", _text(u)) for u in sorted(acl.users)]
        entries += [(pk, "group", _text(g)) for g in sorted(acl.groups)]
        if entries:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO acl_entries (doc_pk, kind, name) VALUES (%s, %s, %s)", entries
                )

    def delete_documents(self, tenant: str, document_ids: Sequence[str]) -> int:
        with self._write() as conn:
            rows = conn.execute(
                "DELETE FROM documents WHERE tenant = %s AND id = ANY(%s) RETURNING pk",
                (tenant, list(document_ids)),
            ).fetchall()
        return len(rows)

    def set_acl(self, tenant: str, document_id: str, acl: Acl) -> None:
        with self._write() as conn:
            row = conn.execute(
                "UPDATE documents SET acl_public = %s WHERE id = %s AND tenant = %s RETURNING pk",
                (acl.public, document_id, tenant),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no document {document_id} in tenant {tenant}")
            self._write_acl(conn, int(row[0]), acl)

    # -- reads -------------------------------------------------------------------------

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS}, text FROM documents WHERE id = %s AND tenant = %s",
                (document_id, tenant),
            ).fetchone()
            if row is None:
                return None
            entries = conn.execute(
                "SELECT doc_pk, kind, name FROM acl_entries WHERE doc_pk = %s", (row[0],)
            ).fetchall()
        return _document(row, _group_entries(entries))

    def list_documents(self, tenant: str, *, source_prefix: str | None = None) -> list[Document]:
        clause = filter_clause(SearchFilter(source_prefix=source_prefix))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS}, '' FROM documents d WHERE d.tenant = %s"
                f' AND {clause.sql} ORDER BY source COLLATE "C"',
                [tenant, *clause.params],
            ).fetchall()
            # One query for every ACL entry of the tenant, not one per document.
            entries = conn.execute(
                "SELECT a.doc_pk, a.kind, a.name FROM acl_entries a"
                " JOIN documents d ON d.pk = a.doc_pk WHERE d.tenant = %s",
                (tenant,),
            ).fetchall()
        by_pk = _group_entries(entries)
        return [_document(r, by_pk) for r in rows]

    def versions(
        self, tenant: str, *, source_prefix: str | None = None
    ) -> dict[str, StoredVersion]:
        return {
            d.source: StoredVersion(d.id, d.content_hash, d.acl)
            for d in self.list_documents(tenant, source_prefix=source_prefix)
        }

    def cached_vectors(self, text_hashes: Sequence[str]) -> Mapping[str, Vector]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (text_hash) text_hash, embedding::real[] FROM chunks"
                " WHERE text_hash = ANY(%s)",
                (sorted(set(text_hashes)),),
            ).fetchall()
        return {str(h): np.asarray(v, dtype=np.float32) for h, v in rows}

    def get_chunks(self, tenant: str, chunk_ids: Sequence[int]) -> list[Chunk]:
        hits = self.load_hits(Principal.system(tenant), [(i, 0.0) for i in chunk_ids])
        return [h.chunk for h in hits]

    def stats(self, tenant: str | None = None) -> StoreStats:
        where, params = ("WHERE tenant = %s", [tenant]) if tenant else ("", [])
        with self._read() as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT tenant), coalesce(sum(chunk_count), 0)"
                f" FROM documents {where}",
                params,
            ).fetchone()
        docs, tenants, chunks = row if row else (0, 0, 0)
        return StoreStats(documents=int(docs), chunks=int(chunks), tenants=int(tenants))

    # -- search ------------------------------------------------------------------------

    def keyword_scores(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        where = access_clause(principal).and_(filter_clause(filter))
        terms = search.lexemes(query_terms(query))
        if not terms or k <= 0:
            return []
        with self._read(search=True) as conn:
            stats, df = self._keyword_statistics(conn, terms)
            idf = {t: stats.idf(df[t]) for t in terms if df.get(t)}
            if not idf:
                return []
            rows, exact = search.bm25_scores(
                conn, idf, df, stats, where, k, self.keyword_budget, self.keyword_max_postings
            )
            self.last_keyword_exact = exact
            return rows

    def keyword_idf(self, terms: Sequence[str]) -> dict[str, float]:
        terms = search.lexemes(terms)
        if not terms:
            return {}
        with self._read(search=True) as conn:
            stats, df = self._keyword_statistics(conn, terms)
        return {t: stats.idf(df[t]) for t in terms if df.get(t)}

    def dense_scores(
        self,
        vector: Sequence[float],
        *,
        principal: Principal,
        k: int,
        filter: SearchFilter | None = None,
    ) -> list[ScoredChunk]:
        query = np.asarray(vector, dtype=np.float32)
        if query.shape != (self.dimensions,):
            raise StoreError(f"query vector has shape {query.shape}, expected ({self.dimensions},)")
        where = access_clause(principal).and_(filter_clause(filter))
        if k <= 0:
            return []
        with self._read(search=True) as conn:
            ids = self._dense_candidates(conn, search.vector_literal(query), where, k)
            return search.rescore(conn, ids, query)

    def _dense_candidates(self, conn: Conn, query: str, where: Clause, k: int) -> list[int]:
        """The rule in ``postgres_search``'s docstring, step by step."""
        admitted, total = self._admitted_chunks(conn, where)
        wanted = min(k, admitted)
        if admitted == 0:
            plan, ids = search.DensePlan.NONE, []
        elif admitted <= self.exact_below:
            plan, ids = search.DensePlan.EXACT, search.exact_candidates(conn, query, where, k)
        elif self._iterative_scans:
            plan = search.DensePlan.ITERATIVE
            ef_search = max(self.scaled_ef_search(total), k)
            ids = search.iterative_candidates(conn, query, where, k, ef_search)
        else:
            plan = search.DensePlan.HNSW
            ef = search.overfetch(k, admitted, total, self.scaled_ef_search(total))
            ids = search.hnsw_candidates(conn, query, where, k, ef)
        if len(ids) < wanted:
            plan, ids = search.DensePlan.FALLBACK, search.exact_candidates(conn, query, where, k)
        self.last_dense_plan = plan
        return ids

    def scaled_ef_search(self, total: int) -> int:
        """``ef_search``, or ``ef_search_per_million`` per million stored chunks if more
        (capped at pgvector's 1000)."""
        grown = total * self.ef_search_per_million // 1_000_000
        return min(max(self.ef_search, grown), search.MAX_EF_SEARCH)

    # -- per-revision caches -----------------------------------------------------------

    def _revision(self, conn: Conn) -> int:
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'revision'").fetchone()
        revision = int(row[0]) if row else 0
        with self._lock:
            if revision != self._cache_revision:
                self._cache_revision = revision
                self._stats, self._df, self._admitted = None, {}, {}
        return revision

    def _keyword_statistics(
        self, conn: Conn, terms: Sequence[str]
    ) -> tuple[search.CorpusStats, dict[str, int]]:
        """BM25's N, average length and document frequencies, cached per revision:
        exact, since they are read in the same snapshot as the revision they are keyed on."""
        revision = self._revision(conn)
        with self._lock:
            stats, df = self._stats, dict(self._df)
        missing = [t for t in terms if t not in df]
        if stats is None:
            stats = search.corpus_stats(conn)
        if missing:
            df.update(search.document_frequencies(conn, missing))
        with self._lock:
            if self._cache_revision == revision:
                self._stats = stats
                if len(self._df) < 100_000:
                    self._df.update(df)
        return stats, df

    def _admitted_chunks(self, conn: Conn, where: Clause) -> tuple[int, int]:
        """How many chunks ``where`` admits, and how many exist; cached per revision."""
        revision = self._revision(conn)
        key = (where.sql, repr(where.params))
        with self._lock:
            cached = self._admitted.get(key)
            if cached is None:
                self._admitted_misses += 1
            else:
                self._admitted_hits += 1
        if cached is not None:
            return cached
        counts = search.admitted_chunks(conn, where)
        with self._lock:
            if self._cache_revision == revision and len(self._admitted) < _CACHE_SIZE:
                self._admitted[key] = counts
        return counts

    def cache_stats(self) -> dict[str, tuple[int, int]]:
        """Hits and misses of the admitted-chunks cache (exported as a hit ratio)."""
        with self._lock:
            return {"admitted_chunks": (self._admitted_hits, self._admitted_misses)}

    # -- hits --------------------------------------------------------------------------

    def load_hits(self, principal: Principal, scored: Sequence[ScoredChunk]) -> list[Hit]:
        """Load scored chunk ids, re-checking access so no path can leak another tenant's row."""
        if not scored:
            return []
        clause = access_clause(principal)
        with self._read(search=True) as conn:
            rows = conn.execute(
                f"SELECT {_HIT_COLUMNS} FROM chunks c JOIN documents d ON d.pk = c.doc_pk"
                f" WHERE c.id = ANY(%s) AND {clause.sql}",
                [[i for i, _ in scored], *clause.params],
            ).fetchall()
        by_id = {int(r[0]): r for r in rows}
        kept = [(i, s) for i, s in scored if i in by_id]
        return [_hit(by_id[i], s, rank) for rank, (i, s) in enumerate(kept, start=1)]


def _hit(r: tuple[Any, ...], score: float, rank: int) -> Hit:
    chunk = Chunk(
        id=int(r[0]),
        document_id=r[1],
        ordinal=r[2],
        text=r[3],
        indexed_text=r[4],
        start=r[5],
        end=r[6],
        page=r[7],
        section=tuple(r[8]),
    )
    return Hit(chunk=chunk, score=score, document_title=r[9], source=r[10], rank=rank)


def _group_entries(rows: Sequence[tuple[Any, ...]]) -> dict[int, list[tuple[str, str]]]:
    """ACL entry rows ``(doc_pk, kind, name)`` grouped by document."""
    grouped: dict[int, list[tuple[str, str]]] = {}
    for pk, kind, name in rows:
        grouped.setdefault(int(pk), []).append((str(kind), str(name)))
    return grouped


def _document(row: tuple[Any, ...], entries: dict[int, list[tuple[str, str]]]) -> Document:
    mine = entries.get(int(row[0]), [])
    return Document(
        id=row[1],
        tenant=row[2],
        source=row[3],
        title=row[4],
        content_hash=row[5],
        format=row[6],
        acl=Acl(
            public=bool(row[7]),
            users=frozenset(n for k, n in mine if k == "user"),
            groups=frozenset(n for k, n in mine if k == "group"),
        ),
        metadata=dict(row[8]),
        text=row[9],
    )
