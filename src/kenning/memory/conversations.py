"""Conversations, their messages, the answers given and the feedback on them.

Everything is keyed by tenant and user name, and every read takes both: a conversation
id guessed from another account resolves to "not found", never to someone else's data.
Each answer keeps its quality signals (mode, groundedness, evidence — the top retrieval
score —, citations, latency, tokens and cost) so monitoring and reports can be computed
from what was actually said. A conversation handed to a human is marked escalated.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from kenning.db.engine import SqlDatabase
from kenning.errors import NotFoundError
from kenning.memory.history import Turn
from kenning.types import Answer


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    tenant: str
    username: str
    title: str
    created_at: float
    updated_at: float
    escalated_at: float | None = None
    escalation_reason: str = ""
    summary: str = ""
    """Summary of the turns older than those the prompt keeps verbatim (a cache)."""
    summary_turns: int = 0
    """How many turns, from the first, ``summary`` covers."""


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str
    answer_id: str | None
    created_at: float
    search_query: str | None = None
    """On an answer: what retrieval searched for when the question was rewritten."""


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    id: str
    conversation_id: str | None
    question: str
    mode: str
    groundedness: float
    evidence: float
    citations: int
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Spend:
    """What an answer consumed: the LLM's reported tokens and their priced cost."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


_CONVERSATION = (
    "id, tenant, username, title, created_at, updated_at, escalated_at, escalation_reason,"
    " summary, summary_turns"
)


class ConversationRepository:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def start(self, tenant: str, username: str, title: str) -> Conversation:
        now = time.time()
        conv = Conversation(secrets.token_hex(8), tenant, username, title[:120], now, now)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO conversations (id, tenant, username, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conv.id, tenant, username, conv.title, now, now),
            )
        return conv

    def get(self, tenant: str, username: str, conversation_id: str) -> Conversation:
        row = self.db.fetchone(
            f"SELECT {_CONVERSATION} FROM conversations"
            " WHERE id = ? AND tenant = ? AND username = ?",
            (conversation_id, tenant, username),
        )
        if row is None:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return Conversation(*row)

    def list_for(self, tenant: str, username: str, limit: int = 50) -> list[Conversation]:
        rows = self.db.fetchall(
            f"SELECT {_CONVERSATION} FROM conversations"
            " WHERE tenant = ? AND username = ? ORDER BY updated_at DESC LIMIT ?",
            (tenant, username, limit),
        )
        return [Conversation(*r) for r in rows]

    def messages(self, conversation: Conversation) -> list[Message]:
        rows = self.db.fetchall(
            "SELECT m.role, m.content, m.answer_id, m.created_at, a.search_query"
            " FROM messages m LEFT JOIN answers a ON a.id = m.answer_id"
            " WHERE m.conversation_id = ? ORDER BY m.id",
            (conversation.id,),
        )
        return [Message(*r) for r in rows]

    def turns(self, conversation: Conversation) -> list[Turn]:
        """The conversation's exchanges in order, each with what retrieval searched for."""
        rows = self.db.fetchall(
            "SELECT m.role, m.content, a.search_query, m.answer_id FROM messages m"
            " LEFT JOIN answers a ON a.id = m.answer_id"
            " WHERE m.conversation_id = ? ORDER BY m.id",
            (conversation.id,),
        )
        turns: list[Turn] = []
        question: str | None = None
        for role, content, search_query, answer_id in rows:
            if role == "user":
                question = content
            elif question is not None:
                turns.append(Turn(question, content, search_query, note=answer_id is None))
                question = None
        return turns

    def save_summary(self, conversation: Conversation, summary: str, turns: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET summary = ?, summary_turns = ?"
                " WHERE id = ? AND tenant = ? AND username = ?",
                (summary, turns, conversation.id, conversation.tenant, conversation.username),
            )

    def record_note(self, conversation: Conversation, message: str, reply: str) -> None:
        """A user message and Kenning's reply that were not an answer from the documents
        (e.g. "remember that ..." acknowledged): kept in the conversation, not counted as
        an answer by monitoring."""
        now = time.time()
        with self.db.write() as conn:
            for role, content in (("user", message), ("assistant", reply)):
                conn.execute(
                    "INSERT INTO messages (conversation_id, role, content, answer_id,"
                    " created_at) VALUES (?, ?, ?, NULL, ?)",
                    (conversation.id, role, content, now),
                )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation.id)
            )

    def delete(self, tenant: str, username: str, conversation_id: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM conversations WHERE id = ? AND tenant = ? AND username = ?",
                (conversation_id, tenant, username),
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no conversation {conversation_id!r}")

    def record_exchange(
        self,
        tenant: str,
        username: str,
        conversation: Conversation | None,
        answer: Answer,
        latency_ms: float,
        spend: Spend | None = None,
    ) -> str:
        """Store the answer (and, in a conversation, both messages); returns the answer id."""
        spend = spend or Spend()
        answer_id = secrets.token_hex(8)
        now = time.time()
        conv_id = conversation.id if conversation else None
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO answers (id, tenant, username, conversation_id, question, text, mode,"
                " groundedness, evidence, citations, latency_ms, model, created_at, tokens_in,"
                " tokens_out, cost, search_query)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    tenant,
                    username,
                    conv_id,
                    answer.question,
                    answer.text,
                    answer.mode.value,
                    answer.groundedness,
                    answer.evidence,
                    len(answer.citations),
                    latency_ms,
                    answer.model,
                    now,
                    spend.tokens_in,
                    spend.tokens_out,
                    spend.cost,
                    answer.search_query,
                ),
            )
            if conv_id is not None:
                for role, content, from_answer in (
                    ("user", answer.question, None),
                    ("assistant", answer.text, answer_id),
                ):
                    conn.execute(
                        "INSERT INTO messages (conversation_id, role, content, answer_id,"
                        " created_at) VALUES (?, ?, ?, ?, ?)",
                        (conv_id, role, content, from_answer, now),
                    )
                conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conv_id))
        return answer_id

    def add_feedback(
        self, tenant: str, username: str, answer_id: str, rating: int, comment: str
    ) -> None:
        """Thumbs up (1) or down (-1) on an answer the user received; replaces earlier
        feedback by the same user."""
        with self.db.write() as conn:
            owner = conn.execute(
                "SELECT 1 FROM answers WHERE id = ? AND tenant = ? AND username = ?",
                (answer_id, tenant, username),
            ).fetchone()
            if owner is None:
                raise NotFoundError(f"no answer {answer_id!r}")
            conn.execute(
                "INSERT INTO feedback (answer_id, tenant, username, rating, comment, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (answer_id, username) DO UPDATE SET"
                " rating = excluded.rating, comment = excluded.comment,"
                " created_at = excluded.created_at",
                (answer_id, tenant, username, rating, comment, time.time()),
            )

    def escalate(
        self,
        tenant: str,
        username: str,
        conversation_id: str,
        reason: str = "",
        *,
        at: float | None = None,
    ) -> Conversation:
        """Hand the conversation to a human (at ``at``, default now). Idempotent: the first
        escalation's time and reason stand, so a retried request or a second click does
        not move the record; ``result.escalated_at == at`` tells the caller it was this one."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET escalated_at = ?, escalation_reason = ?"
                " WHERE id = ? AND tenant = ? AND username = ? AND escalated_at IS NULL",
                (time.time() if at is None else at, reason, conversation_id, tenant, username),
            )
        return self.get(tenant, username, conversation_id)
