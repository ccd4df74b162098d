"""The embedded store: one SQLite file (WAL), searched through in-memory mirrors.

Everything a document owns (row, ACL entries, chunks, vectors) is written in one
transaction, so a crash or SIGKILL at any point leaves either the old or the new
version. SQLite is the source of truth; search runs on two in-memory mirrors of the
chunks table refreshed by revision: ``DenseIndex`` (exact cosine, see its docstring) and
``KeywordIndex`` (BM25, see its docstring for why not FTS5). Both apply the same cached
ACL mask, and only the final hits are loaded from SQLite.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kenning.embedding.base import Vector
from kenning.errors import NotFoundError, StoreError
from kenning.store.analyzer import query_terms
from kenning.store.base import DocumentWrite, HitSearch, ScoredChunk, StoredVersion, StoreStats
from kenning.store.dense_index import DenseIndex, IntArray, Rows
from kenning.store.keyword_index import KeywordIndex, TextRows
from kenning.store.sql_filters import access_clause, filter_clause
from kenning.store.sqlite_db import Database
from kenning.types import Acl, Chunk, Document, Hit, Principal, SearchFilter

ALLOWED_CACHE_SIZE = 256
_CHUNK_COLUMNS = (
    "c.id, d.id, c.ordinal, c.text, c.indexed_text, c.start_offset, c.end_offset, "
    "c.page, c.section, d.title, d.source"
)


def text_hash(text: str) -> str:
    """Key of the embedding cache: identical indexed text is never embedded twice."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class SQLiteStore(HitSearch):
    """``Store`` on one SQLite file; safe to share between threads (one connection each)."""

    def __init__(self, path: Path, *, dimensions: int = 384, db: Database | None = None) -> None:
        self.path = path
        self.dimensions = dimensions
        self.db = db or Database(path)
        self._index = DenseIndex(dimensions)
        self._keywords = KeywordIndex()
        self._allowed_cache: dict[tuple[int, str, tuple[str, ...]], IntArray | None] = {}
        self._allowed_lock = threading.Lock()
        self._allowed_hits = self._allowed_misses = 0

    # -- connection management -------------------------------------------------------

    def warm_up(self) -> None:
        self.db.warm_up()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that bumps the revision; rolled back on any error."""
        with self.db.write() as conn:
            yield conn
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'"
            )

    def _read(self) -> sqlite3.Connection:
        return self.db.read()

    # -- model binding -----------------------------------------------------------------

    def bind_embedder(self, name: str, dimensions: int) -> None:
        if dimensions != self.dimensions:
            raise StoreError(f"store expects {self.dimensions}-d vectors, model gives {dimensions}")
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('embedder', ?)", (name,))
            elif row[0] != name:
                raise StoreError(
                    f"this store was indexed with embedding model {row[0]!r}, "
                    f"but {name!r} is configured; use a new data directory or re-index"
                )

    # -- writes ------------------------------------------------------------------------

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> int:
        written = 0
        with self._write() as conn:
            for write in writes:
                written += self._replace_one(conn, write)
        return written

    def _replace_one(self, conn: sqlite3.Connection, write: DocumentWrite) -> int:
        doc = write.document
        if len(write.chunks) != len(write.vectors):
            raise StoreError(f"{len(write.chunks)} chunks but {len(write.vectors)} vectors")
        pk = self._upsert_document_row(conn, doc)
        conn.execute("DELETE FROM chunks WHERE doc_pk = ?", (pk,))
        self._write_acl(conn, pk, doc.acl)
        vectors = np.ascontiguousarray(write.vectors, dtype=np.float32)
        conn.executemany(
            "INSERT INTO chunks (doc_pk, ordinal, text, indexed_text, start_offset, end_offset,"
            " page, section, text_hash, embedding) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    pk,
                    c.ordinal,
                    c.text,
                    c.indexed_text,
                    c.start,
                    c.end,
                    c.page,
                    json.dumps(list(c.section)),
                    text_hash(c.indexed_text),
                    vectors[i].tobytes(),
                )
                for i, c in enumerate(write.chunks)
            ],
        )
        return len(write.chunks)

    def _upsert_document_row(self, conn: sqlite3.Connection, doc: Document) -> int:
        now = time.time()
        row = conn.execute(
            "INSERT INTO documents (id, tenant, source, title, format, content_hash, acl_public,"
            " metadata, text, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET title = excluded.title, format = excluded.format,"
            " content_hash = excluded.content_hash, acl_public = excluded.acl_public,"
            " metadata = excluded.metadata, text = excluded.text, updated_at = excluded.updated_at"
            " RETURNING pk, tenant",
            (
                doc.id,
                doc.tenant,
                doc.source,
                doc.title,
                doc.format,
                doc.content_hash,
                int(doc.acl.public),
                json.dumps(dict(doc.metadata)),
                doc.text,
                now,
                now,
            ),
        ).fetchone()
        if row[1] != doc.tenant:
            raise StoreError(f"document id {doc.id} belongs to another tenant")
        return int(row[0])

    @staticmethod
    def _write_acl(conn: sqlite3.Connection, pk: int, acl: Acl) -> None:
        conn.execute("DELETE FROM acl_entries WHERE doc_pk = ?", (pk,))
        entries = [(pk, "user", u) for u in sorted(acl.users)]
        entries += [(pk, "group", g) for g in sorted(acl.groups)]
        conn.executemany("INSERT INTO acl_entries (doc_pk, kind, name) VALUES (?,?,?)", entries)

    def delete_documents(self, tenant: str, document_ids: Sequence[str]) -> int:
        deleted = 0
        with self._write() as conn:
            for doc_id in document_ids:
                row = conn.execute(
                    "SELECT pk FROM documents WHERE id = ? AND tenant = ?", (doc_id, tenant)
                ).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM chunks WHERE doc_pk = ?", (row[0],))
                conn.execute("DELETE FROM documents WHERE pk = ?", (row[0],))
                deleted += 1
        return deleted

    def set_acl(self, tenant: str, document_id: str, acl: Acl) -> None:
        with self._write() as conn:
            row = conn.execute(
                "SELECT pk FROM documents WHERE id = ? AND tenant = ?", (document_id, tenant)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no document {document_id} in tenant {tenant}")
            conn.execute(
                "UPDATE documents SET acl_public = ? WHERE pk = ?", (int(acl.public), row[0])
            )
            self._write_acl(conn, int(row[0]), acl)

    # -- reads -------------------------------------------------------------------------

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        row = (
            self._read()
            .execute(
                "SELECT pk, id, tenant, source, title, content_hash, format, acl_public, metadata,"
                " text FROM documents WHERE id = ? AND tenant = ?",
                (document_id, tenant),
            )
            .fetchone()
        )
        if row is None:
            return None
        entries = (
            self._read()
            .execute("SELECT doc_pk, kind, name FROM acl_entries WHERE doc_pk = ?", (row[0],))
            .fetchall()
        )
        return _document(row, _group_entries(entries), with_text=True)

    def list_documents(self, tenant: str, *, source_prefix: str | None = None) -> list[Document]:
        clause = filter_clause(SearchFilter(source_prefix=source_prefix))
        rows = (
            self._read()
            .execute(
                "SELECT pk, id, tenant, source, title, content_hash, format, acl_public, metadata,"
                f" '' FROM documents d WHERE d.tenant = ? AND {clause.sql} ORDER BY source",
                [tenant, *clause.params],
            )
            .fetchall()
        )
        # One query for every ACL entry of the tenant, not one per document.
        entries = (
            self._read()
            .execute(
                "SELECT a.doc_pk, a.kind, a.name FROM acl_entries a"
                " JOIN documents d ON d.pk = a.doc_pk WHERE d.tenant = ?",
                (tenant,),
            )
            .fetchall()
        )
        by_pk = _group_entries(entries)
        return [_document(r, by_pk, with_text=False) for r in rows]

    def versions(
        self, tenant: str, *, source_prefix: str | None = None
    ) -> dict[str, StoredVersion]:
        return {
            d.source: StoredVersion(d.id, d.content_hash, d.acl)
            for d in self.list_documents(tenant, source_prefix=source_prefix)
        }

    def cached_vectors(self, text_hashes: Sequence[str]) -> Mapping[str, Vector]:
        found: dict[str, Vector] = {}
        unique = sorted(set(text_hashes))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            rows = (
                self._read()
                .execute(
                    f"SELECT text_hash, embedding FROM chunks WHERE text_hash IN "
                    f"({','.join('?' * len(part))}) GROUP BY text_hash",
                    part,
                )
                .fetchall()
            )
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def get_chunks(self, tenant: str, chunk_ids: Sequence[int]) -> list[Chunk]:
        hits = self.load_hits(Principal.system(tenant), [(i, 0.0) for i in chunk_ids])
        return [h.chunk for h in hits]

    def stats(self, tenant: str | None = None) -> StoreStats:
        where, params = ("WHERE d.tenant = ?", [tenant]) if tenant else ("", [])
        conn = self._read()
        docs, tenants = conn.execute(
            f"SELECT count(*), count(DISTINCT tenant) FROM documents d {where}", params
        ).fetchone()
        chunks = conn.execute(
            f"SELECT count(*) FROM chunks c JOIN documents d ON d.pk = c.doc_pk {where}", params
        ).fetchone()[0]
        return StoreStats(documents=int(docs), chunks=int(chunks), tenants=int(tenants))

    # -- search ------------------------------------------------------------------------

    def keyword_scores(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        revision = self._refresh_indexes()
        allowed = self._allowed_documents(principal, filter, revision)
        return self._keywords.search(terms, k, allowed)

    def keyword_idf(self, terms: Sequence[str]) -> dict[str, float]:
        self._refresh_indexes()
        return self._keywords.idf(terms)

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
        revision = self._refresh_indexes()
        allowed = self._allowed_documents(principal, filter, revision)
        return self._index.search(query, k, allowed)

    def _refresh_indexes(self) -> int:
        conn = self._read()
        revision = int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
        if self._index.revision == revision and self._keywords.revision == revision:
            return revision
        live: list[IntArray] = []

        def live_ids(up_to: int) -> IntArray:
            # One id scan serves both mirrors; ids beyond ``up_to`` are harmless extras.
            if not live:
                rows = self._read().execute("SELECT id FROM chunks")
                live.append(np.fromiter((r[0] for r in rows), dtype=np.int64))
            return live[0]

        self._index.refresh(revision, self._rows_after, live_ids)
        self._keywords.refresh(revision, self._texts_after, live_ids)
        return revision

    def _allowed_documents(
        self, principal: Principal, filter: SearchFilter | None, revision: int
    ) -> IntArray | None:
        """Primary keys of the documents the principal may read under ``filter`` (None:
        every stored document, so the mirrors need no mask), cached until the next write.

        The same principal asks many questions between writes; the ACL query over all
        documents is the costliest part of a search, so it runs once per revision.
        """
        clause = access_clause(principal).and_(filter_clause(filter))
        key = (revision, clause.sql, tuple(map(repr, clause.params)))
        with self._allowed_lock:
            if key in self._allowed_cache:
                self._allowed_hits += 1
                return self._allowed_cache[key]
            self._allowed_misses += 1
        conn = self._read()
        conn.execute("BEGIN")  # one snapshot: the revision, the count and the keys agree
        try:
            now = int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])
            total = int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
            rows = conn.execute(f"SELECT d.pk FROM documents d WHERE {clause.sql}", clause.params)
            pks = np.fromiter((r[0] for r in rows), dtype=np.int64)
        finally:
            conn.execute("COMMIT")
        pks.sort()
        # None when everything the mirrors (at this very revision) hold is admitted.
        allowed = None if now == revision and len(pks) == total else pks
        with self._allowed_lock:
            if len(self._allowed_cache) >= ALLOWED_CACHE_SIZE or any(
                k[0] != revision for k in self._allowed_cache
            ):
                self._allowed_cache.clear()
            self._allowed_cache[key] = allowed
        return allowed

    def cache_stats(self) -> dict[str, tuple[int, int]]:
        """Hits and misses of the ACL mask cache (exported as a Prometheus hit ratio)."""
        with self._allowed_lock:
            return {"acl_mask": (self._allowed_hits, self._allowed_misses)}

    def _rows_after(self, last_id: int) -> Rows:
        rows = (
            self._read()
            .execute(
                "SELECT id, doc_pk, embedding FROM chunks WHERE id > ? ORDER BY id", (last_id,)
            )
            .fetchall()
        )
        blob = b"".join(r[2] for r in rows)
        return Rows(
            chunk_ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            doc_pks=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            vectors=np.frombuffer(blob, dtype=np.float32).reshape(len(rows), self.dimensions),
        )

    def _texts_after(self, last_id: int) -> TextRows:
        rows = (
            self._read()
            .execute(
                "SELECT id, doc_pk, indexed_text FROM chunks WHERE id > ? ORDER BY id", (last_id,)
            )
            .fetchall()
        )
        return TextRows(
            chunk_ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            doc_pks=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            texts=[r[2] for r in rows],
        )

    def load_hits(self, principal: Principal, scored: Sequence[ScoredChunk]) -> list[Hit]:
        """Load scored chunk ids, re-checking access so no path can leak another tenant's row."""
        if not scored:
            return []
        clause = access_clause(principal)
        ids = [i for i, _ in scored]
        rows = (
            self._read()
            .execute(
                # CROSS JOIN fixes the loop order: look up the few chunk ids first. Left
                # to itself, the planner may walk the tenant's documents (tenant index).
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c CROSS JOIN documents d"
                f" ON d.pk = c.doc_pk WHERE c.id IN ({','.join('?' * len(ids))}) AND {clause.sql}",
                [*ids, *clause.params],
            )
            .fetchall()
        )
        by_id = {int(r[0]): r for r in rows}
        hits = []
        for rank, (chunk_id, score) in enumerate((p for p in scored if p[0] in by_id), start=1):
            r = by_id[chunk_id]
            chunk = Chunk(
                id=chunk_id,
                document_id=r[1],
                ordinal=r[2],
                text=r[3],
                indexed_text=r[4],
                start=r[5],
                end=r[6],
                page=r[7],
                section=tuple(json.loads(r[8])),
            )
            hits.append(Hit(chunk=chunk, score=score, document_title=r[9], source=r[10], rank=rank))
        return hits


def _group_entries(rows: Sequence[Sequence[object]]) -> dict[int, list[tuple[str, str]]]:
    """ACL entry rows ``(doc_pk, kind, name)`` grouped by document."""
    grouped: dict[int, list[tuple[str, str]]] = {}
    for pk, kind, name in rows:
        grouped.setdefault(int(pk), []).append((str(kind), str(name)))  # type: ignore[call-overload]
    return grouped


def _document(
    row: Sequence[object], entries: dict[int, list[tuple[str, str]]], *, with_text: bool
) -> Document:
    pk = int(row[0])  # type: ignore[call-overload]
    mine = entries.get(pk, [])
    return Document(
        id=str(row[1]),
        tenant=str(row[2]),
        source=str(row[3]),
        title=str(row[4]),
        content_hash=str(row[5]),
        format=str(row[6]),
        acl=Acl(
            public=bool(row[7]),
            users=frozenset(n for k, n in mine if k == "user"),
            groups=frozenset(n for k, n in mine if k == "group"),
        ),
        metadata=json.loads(str(row[8])),
        text=str(row[9]) if with_text else "",
    )
