"""Long-term user memory, the search query each answer used, and conversation summaries.

``memories``: facts and preferences a user asked Kenning to keep (``explicit``) or that
the LLM picked out of their messages (``extracted``), keyed by tenant and user like
everything else of theirs; the embedding (float32 bytes, with the model that made it)
lets the relevant ones be recalled into a question's context. ``answers.search_query`` is
what retrieval actually searched for when a follow-up was rewritten (NULL: the question
itself). ``conversations.summary`` caches the summary of the turns older than the ones
kept verbatim, with how many turns it covers, so a long conversation is not re-summarised
on every message. Portable DDL: BLOB is BYTEA on PostgreSQL.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    blob = "BYTEA" if bind.dialect.name == "postgresql" else "BLOB"
    bind.exec_driver_sql(
        f"""
        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            username TEXT NOT NULL,
            text TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('explicit', 'extracted')),
            created_at DOUBLE PRECISION NOT NULL,
            model TEXT NOT NULL,
            embedding {blob} NOT NULL
        )"""
    )
    bind.exec_driver_sql("CREATE INDEX memories_by_user ON memories (tenant, username, created_at)")
    op.add_column("answers", sa.Column("search_query", sa.Text, nullable=True))
    op.add_column("conversations", sa.Column("summary", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "conversations",
        sa.Column("summary_turns", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("conversations", "summary_turns")
    op.drop_column("conversations", "summary")
    op.drop_column("answers", "search_query")
    op.drop_table("memories")
