"""Baseline: the store and service schema of Kenning 0.1.

SQLite: replays the migrations shipped before Alembic (``kenning.store.sqlite_schema``,
versioned by ``PRAGMA user_version``) from wherever the file stands, so existing data
directories upgrade in place and new ones get the same schema.
PostgreSQL: the service tables (the document store's tables belong to its backend).

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op

from kenning.store.sqlite_schema import MIGRATIONS, split_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        version = int(bind.exec_driver_sql("PRAGMA user_version").scalar_one())
        for script in MIGRATIONS[version:]:
            for statement in split_statements(script):
                bind.exec_driver_sql(statement)
        bind.exec_driver_sql(f"PRAGMA user_version = {len(MIGRATIONS)}")
    else:
        for statement in _POSTGRES:
            bind.exec_driver_sql(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline cannot be downgraded; restore a backup instead")


_POSTGRES = (
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """
    CREATE TABLE users (
        tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
        superuser INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (tenant, username)
    )""",
    """
    CREATE TABLE groups (
        tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (tenant, name)
    )""",
    """
    CREATE TABLE memberships (
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        group_name TEXT NOT NULL,
        PRIMARY KEY (tenant, username, group_name),
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE,
        FOREIGN KEY (tenant, group_name) REFERENCES groups(tenant, name) ON DELETE CASCADE
    )""",
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION,
        last_used_at DOUBLE PRECISION,
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE
    )""",
    """
    CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION,
        FOREIGN KEY (tenant, username) REFERENCES users(tenant, username) ON DELETE CASCADE
    )""",
    """
    CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        tenant TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        client TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX audit_by_tenant ON audit_log (tenant, id)",
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only';
    END;
    $$""",
    """
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        created_by TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        request TEXT NOT NULL DEFAULT '{}',
        report TEXT NOT NULL DEFAULT '{}',
        error TEXT
    )""",
    "CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at)",
    """
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('folder', 'url')),
        location TEXT NOT NULL,
        acl TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        last_job_id TEXT,
        max_pages INTEGER,
        UNIQUE (tenant, kind, location)
    )""",
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        title TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX conversations_by_user ON conversations (tenant, username, updated_at)",
    """
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
        question TEXT NOT NULL,
        text TEXT NOT NULL,
        mode TEXT NOT NULL,
        groundedness DOUBLE PRECISION NOT NULL,
        evidence DOUBLE PRECISION NOT NULL,
        citations INTEGER NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL,
        model TEXT,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX answers_by_tenant ON answers (tenant, created_at)",
    """
    CREATE TABLE messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        answer_id TEXT REFERENCES answers(id) ON DELETE SET NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
    """
    CREATE TABLE feedback (
        answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
        tenant TEXT NOT NULL,
        username TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
        comment TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (answer_id, username)
    )""",
)
