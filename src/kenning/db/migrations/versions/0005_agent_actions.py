"""The agent's runs and the side-effecting actions awaiting the user's decision.

``agent_runs`` keeps a run's state as JSON (the OpenAI-protocol messages so far, tool
calls included, the sources its searches found and its step log), so a run paused for
confirmation resumes exactly where it stopped, in another request or on another replica.
``agent_actions`` holds each side-effecting tool call the model proposed: pending until
its owner confirms or rejects it, then executed (or failed) at most once. Both are keyed
by tenant and user and every read takes both.

Revision ID: 0005 (down_revision 0004, the memories table).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("agent_runs_owner", "agent_runs", ["tenant", "username"])
    op.create_table(
        "agent_actions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "run_id", sa.Text, sa.ForeignKey("agent_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("tool", sa.Text, nullable=False),
        sa.Column("arguments", sa.Text, nullable=False),
        sa.Column("tool_call_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("decided_at", sa.Float, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'rejected', 'executing', 'executed', 'failed')",
            name="agent_actions_status",
        ),
    )
    op.create_index("agent_actions_owner", "agent_actions", ["tenant", "username", "status"])


def downgrade() -> None:
    op.drop_table("agent_actions")
    op.drop_table("agent_runs")
