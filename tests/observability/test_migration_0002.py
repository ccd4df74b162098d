"""Revision 0002 (answer tokens and cost, conversation escalation) on both dialects: a
database at 0001 with data upgrades in place, and the repositories use the new columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from kenning.db.engine import SqlDatabase, sqlite_url
from kenning.db.migrations import current_revision, head_revision, upgrade
from kenning.memory import ConversationRepository, Spend
from kenning.types import Answer, AnswerMode


def exercise(db: SqlDatabase) -> None:
    """At 0001: a conversation and an answer; then upgrade and use the new columns."""
    upgrade(db.engine, "0001")
    with db.engine.begin() as conn:  # raw: the repositories refuse a schema behind the code
        conn.exec_driver_sql(
            "INSERT INTO conversations (id, tenant, username, title, created_at, updated_at)"
            " VALUES ('c1', 'acme', 'ada', 'old', 1.0, 1.0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO answers (id, tenant, username, conversation_id, question, text, mode,"
            " groundedness, evidence, citations, latency_ms, model, created_at)"
            " VALUES ('a1', 'acme', 'ada', 'c1', 'q', 't', 'llm', 0.9, 0.7, 1, 12.0, 'm', 1.0)"
        )
    assert upgrade(db.engine) == head_revision()
    old = db.fetchone("SELECT tokens_in, tokens_out, cost FROM answers WHERE id = 'a1'")
    assert old is not None
    assert tuple(old) == (0, 0, 0.0)  # answers from before the revision: no known spend
    repo = ConversationRepository(db)
    conv = repo.get("acme", "ada", "c1")
    assert (conv.escalated_at, conv.escalation_reason) == (None, "")
    answer = Answer(question="q2", text="t2", mode=AnswerMode.LLM, model="m")
    new_id = repo.record_exchange("acme", "ada", conv, answer, 20.0, Spend(100, 20, 0.25))
    row = db.fetchone("SELECT tokens_in, tokens_out, cost FROM answers WHERE id = ?", (new_id,))
    assert row is not None
    assert tuple(row) == (100, 20, 0.25)
    first = repo.escalate("acme", "ada", "c1", "needs a human")
    assert first.escalated_at is not None
    assert first.escalation_reason == "needs a human"
    assert repo.escalate("acme", "ada", "c1", "again") == first  # idempotent
    with pytest.raises(Exception, match="no conversation"):
        repo.escalate("acme", "eve", "c1")  # someone else's conversation: not found


def test_0002_on_sqlite(tmp_path: Path) -> None:
    db = SqlDatabase(sqlite_url(tmp_path / "k.db"), auto_upgrade=False)
    exercise(db)
    assert current_revision(db.engine) == head_revision()
    db.close()


def test_0002_on_postgresql(postgres_dsn: str) -> None:
    db = SqlDatabase(postgres_dsn, auto_upgrade=False)
    exercise(db)
    assert current_revision(db.engine) == head_revision()
    db.close()
