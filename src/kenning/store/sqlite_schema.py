"""Numbered schema migrations of the embedded SQLite store (``PRAGMA user_version``).

Append a new entry to ``MIGRATIONS`` for every schema change; never edit a shipped one.
A store whose version is newer than this code knows is refused, not guessed at.
"""

from __future__ import annotations

import sqlite3

from kenning.errors import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, ACL entries, chunks with their vectors, BM25 index, meta.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('revision', '0');

    CREATE TABLE documents (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        format TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        acl_public INTEGER NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (tenant, source)
    );

    CREATE TABLE acl_entries (
        doc_pk INTEGER NOT NULL REFERENCES documents(pk) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        name TEXT NOT NULL,
        PRIMARY KEY (doc_pk, kind, name)
    ) WITHOUT ROWID;
    CREATE INDEX acl_by_name ON acl_entries (kind, name);

    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_pk INTEGER NOT NULL REFERENCES documents(pk) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        indexed_text TEXT NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        page INTEGER,
        section TEXT NOT NULL DEFAULT '[]',
        text_hash TEXT NOT NULL,
        embedding BLOB NOT NULL
    );
    CREATE INDEX chunks_by_doc ON chunks (doc_pk, ordinal);
    CREATE INDEX chunks_by_hash ON chunks (text_hash);

    CREATE VIRTUAL TABLE chunks_fts USING fts5 (
        indexed_text, content='chunks', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, indexed_text) VALUES (new.id, new.indexed_text);
    END;
    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, indexed_text)
        VALUES ('delete', old.id, old.indexed_text);
    END;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, one transaction each; returns the resulting version.

    The version is re-read after taking the write lock: two processes opening a new store
    at the same moment must not both apply migration 1.
    """
    _check_known(_version(conn))
    while _version(conn) < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _version(conn)
            _check_known(version)
            if version < len(MIGRATIONS):
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(MIGRATIONS)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _check_known(version: int) -> None:
    if version > len(MIGRATIONS):
        raise StoreError(
            f"store schema version {version} is newer than this Kenning "
            f"(knows {len(MIGRATIONS)}); upgrade Kenning"
        )


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
