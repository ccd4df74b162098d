"""Pending actions on both service databases: owner-scoped reads, and decisions that
happen at most once (compare-and-set on the status)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.agent.store import ActionStatus, AgentStore
from kenning.db.engine import SqlDatabase, sqlite_url
from kenning.errors import ConflictError, NotFoundError


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentStore]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "kenning.db")
    else:
        url = request.getfixturevalue("service_dsn")
    db = SqlDatabase(url)
    db.warm_up()
    try:
        yield AgentStore(db)
    finally:
        db.close()


def test_actions_are_scoped_to_their_owner_and_decided_once(store: AgentStore) -> None:
    run = store.start_run("acme", "vic", None, "question")
    run.messages = [{"role": "user", "content": "question"}]
    run.sources = [{"number": 1}]
    store.save_run(run)
    action = store.propose(run, "create_ticket", {"subject": "s"}, "call_1")

    assert store.get_run("acme", "vic", run.id).messages == run.messages
    assert store.list_actions("acme", "vic", status=ActionStatus.PENDING) == [action]
    assert store.list_actions("acme", "val") == []
    for tenant, user in (("acme", "val"), ("globex", "vic")):
        with pytest.raises(NotFoundError):
            store.get_action(tenant, user, action.id)
        with pytest.raises(NotFoundError):
            store.get_run(tenant, user, run.id)

    executing = store.transition(action, ActionStatus.PENDING, ActionStatus.EXECUTING)
    with pytest.raises(ConflictError):
        store.transition(action, ActionStatus.PENDING, ActionStatus.REJECTED)
    store.transition(executing, ActionStatus.EXECUTING, ActionStatus.EXECUTED, "T-1")
    stored = store.get_action("acme", "vic", action.id)
    assert stored.status is ActionStatus.EXECUTED
    assert stored.result == "T-1"
    assert stored.decided_at is not None
    assert store.list_actions("acme", "vic", status=ActionStatus.PENDING) == []
