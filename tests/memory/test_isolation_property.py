"""Property: whatever sequence of adds and deletes three accounts make — two of them with
the same user name in different tenants — each account sees, recalls and deletes exactly
its own memories. Real SQLite service database, real embedder."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kenning.db.engine import SqlDatabase
from kenning.embedding import LocalEmbedder
from kenning.errors import NotFoundError
from kenning.memory import MemoryRepository, MemorySource
from kenning.settings import MemorySettings

ACCOUNTS = (("acme", "ada"), ("acme", "vic"), ("globex", "ada"))
FACTS = (
    "I work in the Lyon office",
    "I am vegetarian",
    "My manager is called Grace",
    "I prefer answers in German",
    "I drive an electric car to work",
    "My team maintains the billing service",
)


@dataclass(frozen=True)
class Add:
    account: int
    fact: int


@dataclass(frozen=True)
class Delete:
    account: int
    owner: int
    """Whose memory's id is used: someone else's must be "not found"."""
    pick: int


@dataclass(frozen=True)
class DeleteAll:
    account: int


accounts = st.integers(0, len(ACCOUNTS) - 1)
operations = st.lists(
    st.one_of(
        st.builds(Add, accounts, st.integers(0, len(FACTS) - 1)),
        st.builds(Delete, accounts, accounts, st.integers(0, 10)),
        st.builds(DeleteAll, accounts),
    ),
    max_size=12,
)


@pytest.fixture
def repo(db: SqlDatabase, embedder: LocalEmbedder) -> MemoryRepository:
    return MemoryRepository(db, embedder, MemorySettings(recall_k=20))


def apply(repo: MemoryRepository, model: list[dict[str, str]], op: object) -> None:
    """Run ``op`` on the store and on the model (per account: id -> text)."""
    if isinstance(op, Add):
        memory = repo.add(*ACCOUNTS[op.account], FACTS[op.fact], MemorySource.EXPLICIT)
        mine = model[op.account]
        for old in [i for i, text in mine.items() if text == memory.text]:
            del mine[old]  # the same fact again replaces the old copy
        mine[memory.id] = memory.text
    elif isinstance(op, Delete):
        ids = sorted(model[op.owner])
        if not ids:
            return
        target = ids[op.pick % len(ids)]
        if op.owner == op.account:
            repo.delete(*ACCOUNTS[op.account], target)
            del model[op.account][target]
        else:
            with pytest.raises(NotFoundError):
                repo.delete(*ACCOUNTS[op.account], target)
    elif isinstance(op, DeleteAll):
        assert repo.delete_all(*ACCOUNTS[op.account]) == len(model[op.account])
        model[op.account].clear()


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_each_account_sees_exactly_its_own_memories(
    repo: MemoryRepository, db: SqlDatabase, ops: list[object]
) -> None:
    with db.write() as conn:
        conn.execute("DELETE FROM memories")
    model: list[dict[str, str]] = [{} for _ in ACCOUNTS]
    for op in ops:
        apply(repo, model, op)
        for i, (tenant, username) in enumerate(ACCOUNTS):
            listed = {m.id: m.text for m in repo.list_for(tenant, username)}
            assert listed == model[i]
    for i, (tenant, username) in enumerate(ACCOUNTS):
        recalled = repo.recall(tenant, username, "Tell me about me", min_similarity=-1.0)
        assert {r.memory.id for r in recalled} == set(model[i])
