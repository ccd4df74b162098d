"""Agent runs and pending actions, persisted (tables ``agent_runs``, ``agent_actions``).

Every read takes tenant and user: an action id guessed from another account is "not
found". Decisions are compare-and-set on the status (``pending`` → ``executing`` or
``rejected``), so a double click, a retried request or two replicas racing can execute a
confirmed action at most once.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kenning.db.engine import SqlDatabase
from kenning.errors import ConflictError, NotFoundError


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting_for_confirmation"
    DONE = "done"
    STEP_LIMIT = "step_limit"
    FAILED = "failed"


class ActionStatus(StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"


@dataclass
class Run:
    """A run's mutable state: the transcript sent to the model, sources, step log."""

    id: str
    tenant: str
    username: str
    conversation_id: str | None
    question: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    status: RunStatus = RunStatus.RUNNING
    created_at: float = 0.0

    def state(self) -> str:
        return json.dumps({"messages": self.messages, "sources": self.sources, "log": self.log})


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    run_id: str
    tenant: str
    username: str
    tool: str
    arguments: dict[str, Any]
    tool_call_id: str
    status: ActionStatus
    result: str | None
    created_at: float
    decided_at: float | None


_ACTION = (
    "id, run_id, tenant, username, tool, arguments, tool_call_id, status, result,"
    " created_at, decided_at"
)


def _action(row: tuple[Any, ...]) -> Action:
    return Action(
        row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6],
        ActionStatus(row[7]), row[8], row[9], row[10],
    )  # fmt: skip


class AgentStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    # -- runs ----------------------------------------------------------------------------

    def start_run(
        self, tenant: str, username: str, conversation_id: str | None, question: str
    ) -> Run:
        run = Run(secrets.token_hex(8), tenant, username, conversation_id, question)
        run.created_at = now = time.time()
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO agent_runs (id, tenant, username, conversation_id, question, state,"
                " steps, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, tenant, username, conversation_id, question, run.state(), 0,
                 run.status.value, now, now),
            )  # fmt: skip
        return run

    def save_run(self, run: Run) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE agent_runs SET state = ?, steps = ?, status = ?, updated_at = ?"
                " WHERE id = ? AND tenant = ? AND username = ?",
                (run.state(), run.steps, run.status.value, time.time(), run.id, run.tenant,
                 run.username),
            )  # fmt: skip

    def get_run(self, tenant: str, username: str, run_id: str) -> Run:
        row = self.db.fetchone(
            "SELECT id, tenant, username, conversation_id, question, state, steps, status,"
            " created_at FROM agent_runs WHERE id = ? AND tenant = ? AND username = ?",
            (run_id, tenant, username),
        )
        if row is None:
            raise NotFoundError(f"no agent run {run_id!r}")
        state = json.loads(row[5])
        return Run(
            row[0], row[1], row[2], row[3], row[4], state["messages"], state["sources"],
            state["log"], row[6], RunStatus(row[7]), row[8],
        )  # fmt: skip

    # -- actions -------------------------------------------------------------------------

    def propose(self, run: Run, tool: str, arguments: dict[str, Any], tool_call_id: str) -> Action:
        action = Action(
            secrets.token_hex(8), run.id, run.tenant, run.username, tool, arguments,
            tool_call_id, ActionStatus.PENDING, None, time.time(), None,
        )  # fmt: skip
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO agent_actions ({_ACTION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (action.id, run.id, run.tenant, run.username, tool, json.dumps(arguments),
                 tool_call_id, action.status.value, None, action.created_at, None),
            )  # fmt: skip
        return action

    def get_action(self, tenant: str, username: str, action_id: str) -> Action:
        row = self.db.fetchone(
            f"SELECT {_ACTION} FROM agent_actions WHERE id = ? AND tenant = ? AND username = ?",
            (action_id, tenant, username),
        )
        if row is None:
            raise NotFoundError(f"no action {action_id!r}")
        return _action(row)

    def list_actions(
        self,
        tenant: str,
        username: str,
        *,
        status: ActionStatus | None = None,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[Action]:
        sql = f"SELECT {_ACTION} FROM agent_actions WHERE tenant = ? AND username = ?"
        params: list[Any] = [tenant, username]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        rows = self.db.fetchall(sql + " ORDER BY created_at, id LIMIT ?", [*params, limit])
        return [_action(r) for r in rows]

    def transition(
        self,
        action: Action,
        expected: ActionStatus,
        new: ActionStatus,
        result: str | None = None,
    ) -> Action:
        """Move ``action`` from ``expected`` to ``new``; ``ConflictError`` if someone else
        moved it first (it was already confirmed, rejected or executed)."""
        now = time.time()
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE agent_actions SET status = ?, result = ?, decided_at = ?"
                " WHERE id = ? AND tenant = ? AND username = ? AND status = ?",
                (new.value, result, now, action.id, action.tenant, action.username,
                 expected.value),
            )  # fmt: skip
            if cursor.rowcount != 1:
                raise ConflictError(f"action {action.id} is no longer {expected.value}")
        return Action(
            action.id, action.run_id, action.tenant, action.username, action.tool,
            action.arguments, action.tool_call_id, new, result, action.created_at, now,
        )  # fmt: skip
