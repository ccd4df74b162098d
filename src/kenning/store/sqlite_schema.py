"""The SQLite schema as shipped before Alembic: numbered scripts, ``PRAGMA user_version``.

Frozen. Alembic's baseline revision (``kenning/db/migrations/versions/0001_baseline.py``)
replays these from wherever a file stands; every later change is an Alembic revision.
"""

from __future__ import annotations

import sqlite3

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
    # 2: BM25 moved to an in-memory index (store/keyword_index.py); FTS5 is unused.
    """
    DROP TRIGGER IF EXISTS chunks_ai;
    DROP TRIGGER IF EXISTS chunks_ad;
    DROP TABLE IF EXISTS chunks_fts;
    """,
    # 3: the service: tenants, users, groups, API keys, refresh tokens, audit log, jobs,
    # sources, conversations, answers and feedback.
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE users (
        tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
        superuser INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant, username)
    ) WITHOUT ROWID;
    CREATE TABLE groups (
        tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant, name)
    ) WITHOUT ROWID;
    CREATE TABLE memberships (
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        group_name TEXT NOT NULL,
        PRIMARY KEY (tenant, username, group_name),
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE,
        FOREIGN KEY (tenant, group_name) REFERENCES groups(tenant, name) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL,
        last_used_at REAL,
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE
    );
    CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL,
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        tenant TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        client TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_by_tenant ON audit_log (tenant, id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only');
    END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only');
    END;
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        request TEXT NOT NULL DEFAULT '{}',
        report TEXT NOT NULL DEFAULT '{}',
        error TEXT
    );
    CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at);
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('folder', 'url')),
        location TEXT NOT NULL,
        acl TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_job_id TEXT,
        UNIQUE (tenant, kind, location)
    );
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX conversations_by_user ON conversations (tenant, username, updated_at);
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
        question TEXT NOT NULL,
        text TEXT NOT NULL,
        mode TEXT NOT NULL,
        groundedness REAL NOT NULL,
        evidence REAL NOT NULL,
        citations INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        model TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX answers_by_tenant ON answers (tenant, created_at);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        answer_id TEXT REFERENCES answers(id) ON DELETE SET NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    CREATE TABLE feedback (
        answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
        comment TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        PRIMARY KEY (answer_id, username)
    ) WITHOUT ROWID;
    """,
    # 4: URL sources crawl up to a number of pages.
    """
    ALTER TABLE sources ADD COLUMN max_pages INTEGER;
    """,
)


def split_statements(script: str) -> list[str]:
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
