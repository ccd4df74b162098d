"""The PostgreSQL store's schema, as plain SQL run idempotently under an advisory lock.

Kept in one module of plain DDL strings so it can become the store's first Alembic
migration unchanged when the service tables move to Alembic. ``ensure_schema`` is safe to
call from many processes at once: the advisory lock serialises them and every statement
is ``IF NOT EXISTS``. A schema version newer than ``SCHEMA_VERSION`` is refused, not
guessed at (as the SQLite store does with ``user_version``).

Layout, mirroring ``sqlite_schema`` so filters and ACL clauses read the same:
- ``documents``: one row per document, with ``chunk_count``/``token_count`` so corpus
  statistics (BM25's N and average length, the dense leg's admitted share) are sums over
  documents, never scans of the wide ``chunks`` table.
- ``acl_entries``: users and groups that may read a document (``acl_public`` covers the
  rest of the tenant).
- ``chunks``: text, the embedding (``vector(N)``, HNSW cosine index), and the keyword
  representation built by Kenning's own analyzer: ``terms`` (a tsvector of analysed
  terms, GIN-indexed, for matching), ``term_freqs`` (term → count, for BM25) and
  ``length`` (tokens, stop words included).
- ``keyword_terms``: BM25 document frequency per term (chunks holding it), kept by
  statement-level triggers on ``chunks`` (transition tables, so bulk COPY, replacements
  and cascaded deletes all count). Counting a term's chunks through the GIN index at
  query time took 0.3-4 s per common term at a million chunks
  (bench/results/scale_postgres.md); a primary-key lookup takes microseconds. The
  triggers take a transaction-level advisory lock first, so concurrent writers update
  the counts one transaction at a time and can never deadlock on them.
- ``store_meta``: revision (bumped by every write), bound embedder, schema version.
  Named apart from any service ``meta`` table so both can share one database.

Versions: 1 had no ``keyword_terms``; ``ensure_schema`` upgrades it in place (creates the
table and its triggers, counts every stored chunk's terms once) and records version 2.
"""

from __future__ import annotations

from typing import Any

import psycopg

from kenning.errors import StoreError

SCHEMA_VERSION = 2
# Any constant works; it only has to be the same for every process creating the schema.
_LOCK_KEY = 0x4B454E4E  # "KENN"
TERMS_LOCK_KEY = 0x4B54524D  # "KTRM": writers of keyword_terms, one transaction at a time

EXTENSION = "CREATE EXTENSION IF NOT EXISTS vector"

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS store_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    """
    INSERT INTO store_meta (key, value) VALUES ('revision', '0')
    ON CONFLICT (key) DO NOTHING
    """,
    """
    CREATE TABLE IF NOT EXISTS documents (
        pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        format TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        acl_public BOOLEAN NOT NULL,
        metadata JSONB NOT NULL DEFAULT '{{}}',
        text TEXT NOT NULL,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        token_count BIGINT NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        UNIQUE (tenant, source)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS acl_entries (
        doc_pk BIGINT NOT NULL REFERENCES documents (pk) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        name TEXT NOT NULL,
        PRIMARY KEY (doc_pk, kind, name)
    )
    """,
    "CREATE INDEX IF NOT EXISTS acl_by_name ON acl_entries (kind, name, doc_pk)",
    """
    CREATE TABLE IF NOT EXISTS chunks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_pk BIGINT NOT NULL REFERENCES documents (pk) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        indexed_text TEXT NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        page INTEGER,
        section JSONB NOT NULL DEFAULT '[]',
        text_hash TEXT NOT NULL,
        terms TSVECTOR NOT NULL,
        term_freqs JSONB NOT NULL,
        length INTEGER NOT NULL,
        embedding VECTOR({dimensions}) NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_pk, ordinal)",
    "CREATE INDEX IF NOT EXISTS chunks_by_hash ON chunks (text_hash)",
    "CREATE INDEX IF NOT EXISTS chunks_terms ON chunks USING gin (terms)",
    """
    CREATE INDEX IF NOT EXISTS chunks_embedding ON chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    """,
)

KEYWORD_TERMS = (
    """
    CREATE TABLE keyword_terms (
        term TEXT PRIMARY KEY,
        df BIGINT NOT NULL
    )
    """,
    f"""
    CREATE OR REPLACE FUNCTION kenning_terms_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({TERMS_LOCK_KEY});
        INSERT INTO keyword_terms (term, df)
        SELECT t.term, count(*) FROM added_rows r, jsonb_object_keys(r.term_freqs) AS t(term)
        GROUP BY t.term
        ON CONFLICT (term) DO UPDATE SET df = keyword_terms.df + excluded.df;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION kenning_terms_removed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({TERMS_LOCK_KEY});
        UPDATE keyword_terms k SET df = k.df - gone.n
        FROM (
            SELECT t.term, count(*) AS n
            FROM removed_rows r, jsonb_object_keys(r.term_freqs) AS t(term)
            GROUP BY t.term
        ) gone
        WHERE k.term = gone.term;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER chunks_terms_added AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS added_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kenning_terms_added()
    """,
    """
    CREATE TRIGGER chunks_terms_removed AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS removed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kenning_terms_removed()
    """,
    """
    INSERT INTO keyword_terms (term, df)
    SELECT t.term, count(*) FROM chunks c, jsonb_object_keys(c.term_freqs) AS t(term)
    GROUP BY t.term
    """,
)
"""Version 1 -> 2, in one transaction: the table, its triggers, and a count of what is
already stored (one pass over ``chunks``; about a minute at a million chunks)."""


def ensure_schema(conn: psycopg.Connection[tuple[Any, ...]], dimensions: int) -> None:
    """Create the extension, tables and indexes if missing; refuse a newer or different
    schema. Runs in one transaction holding an advisory lock."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        _ensure_extension(conn)
        for statement in TABLES:
            conn.execute(statement.format(dimensions=int(dimensions)))
        _check_version(conn)
        _check_dimensions(conn, dimensions)
        if conn.execute("SELECT to_regclass('keyword_terms')").fetchone() == (None,):
            for statement in KEYWORD_TERMS:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('schema_version', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )


def _ensure_extension(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute(EXTENSION)
    except psycopg.Error as exc:
        raise StoreError(
            "the pgvector extension is missing and could not be created "
            f"({exc.diag.message_primary}); run CREATE EXTENSION vector as a superuser"
        ) from exc


def _check_version(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    row = conn.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    version = int(str(row[0])) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database's store schema (version {version}) is newer than this Kenning "
            f"understands ({SCHEMA_VERSION}); upgrade Kenning"
        )


def _check_dimensions(conn: psycopg.Connection[tuple[Any, ...]], dimensions: int) -> None:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
    ).fetchone()
    expected = f"vector({dimensions})"
    if row is None or row[0] != expected:
        raise StoreError(
            f"the database stores {row[0] if row else 'no'} embeddings, this store expects "
            f"{expected}; use another database or re-index"
        )
