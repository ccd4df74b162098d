"""Answer signals for monitoring and the business report: tokens, cost, escalation.

``answers`` gains the tokens the LLM reported and the cost they came to under the price
table in force when the answer was given (a later price change does not rewrite history);
``conversations`` gains when and why it was handed to a human. Plain Alembic operations:
``ADD COLUMN`` with a constant default works unchanged on SQLite and PostgreSQL.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("answers", sa.Column("tokens_in", sa.Integer, nullable=False, server_default="0"))
    op.add_column(
        "answers", sa.Column("tokens_out", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("answers", sa.Column("cost", sa.Float, nullable=False, server_default="0"))
    op.add_column("conversations", sa.Column("escalated_at", sa.Float, nullable=True))
    op.add_column(
        "conversations",
        sa.Column("escalation_reason", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("conversations", "escalation_reason")
    op.drop_column("conversations", "escalated_at")
    op.drop_column("answers", "cost")
    op.drop_column("answers", "tokens_out")
    op.drop_column("answers", "tokens_in")
