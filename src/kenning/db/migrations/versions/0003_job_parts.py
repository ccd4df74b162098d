"""Durable ingestion jobs: the parts a job fans out into, and procrastinate's queue.

Both dialects: ``job_parts`` (one row per batch of files of a job, with its own report)
and two counters on ``jobs``, so a job that N workers ingest in parallel has one status
and one aggregated report. PostgreSQL only: procrastinate's schema (its tables, types,
functions and triggers, the SQL file shipped in the installed package), so that
``kenning db upgrade`` prepares everything a worker needs. procrastinate is pinned to
one minor version; moving to a newer one means a new revision that applies the
migration scripts it ships (``procrastinate.schema.migrations_path``).

Revision ID: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in _BOTH:
        bind.exec_driver_sql(statement)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_procrastinate_schema())


def downgrade() -> None:
    raise NotImplementedError("restore a backup instead of downgrading")


def _procrastinate_schema() -> str:
    """The queue's DDL as procrastinate ships it. Executed without parameters, so its
    ``%`` signs (in RAISE messages) must reach the server doubled, as procrastinate's
    own ``SchemaManager.apply_schema`` does."""
    try:
        from procrastinate.schema import SchemaManager
    except ImportError as exc:  # the server shape needs the extra
        raise RuntimeError(
            "PostgreSQL needs the job queue: pip install 'kenning[postgres]'"
        ) from exc
    return SchemaManager.get_schema().replace("%", "%%")


_BOTH = (
    "ALTER TABLE jobs ADD COLUMN parts_total INTEGER",
    "ALTER TABLE jobs ADD COLUMN parts_done INTEGER NOT NULL DEFAULT 0",
    """
    CREATE TABLE job_parts (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        part INTEGER NOT NULL,
        files TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'done', 'failed')),
        report TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        worker TEXT,
        PRIMARY KEY (job_id, part)
    )""",
)
