"""The long-term memory store on a real SQLite service database with the real embedder,
explicit "remember that" parsing, and LLM extraction through a real OpenAI-protocol server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kenning.db.engine import SqlDatabase
from kenning.embedding import LocalEmbedder
from kenning.errors import InvalidInputError, NotFoundError
from kenning.generation.openai_chat import OpenAIChat
from kenning.memory import MemoryRepository, MemorySource, explicit_memory
from kenning.memory.extract import EXTRACT_SYSTEM_PROMPT, MemoryExtractor, parse_facts
from kenning.memory.longterm import explicit_forget
from kenning.settings import LLMSettings, MemorySettings
from tests.fakes.openai_server import FakeOpenAIServer, MalformedJSON, Reply, Status


@pytest.fixture
def repo(db: SqlDatabase, embedder: LocalEmbedder) -> MemoryRepository:
    return MemoryRepository(db, embedder, MemorySettings())


@pytest.mark.parametrize(
    ("message", "fact"),
    [
        ("Remember that I work in the Berlin office.", "I work in the Berlin office"),
        ("please remember: my team is Platform", "My team is Platform"),
        ("Keep in mind that I prefer short answers", "I prefer short answers"),
        ("Don't forget I am a contractor!", "I am a contractor"),
        ("do not forget that our fiscal year starts in April", "Our fiscal year starts in April"),
        ("REMEMBER THAT I speak German", "I speak German"),
    ],
)
def test_explicit_phrasings_are_recognised(message: str, fact: str) -> None:
    assert explicit_memory(message) == fact


@pytest.mark.parametrize(
    "message",
    [
        "Do you remember that I work in Berlin?",
        "Remember when we talked about leave?",
        "remember that?",
        "How do I remember my password?",
        "What did the memo say about remembering passwords",
        "remember",
        "Note that I can't log in to the VPN",
    ],
)
def test_questions_are_not_instructions_to_remember(message: str) -> None:
    assert explicit_memory(message) is None


@pytest.mark.parametrize(
    ("message", "request_"),
    [
        ("Forget that I work in Lyon.", "I work in Lyon"),
        ("please forget about my manager's name", "my manager's name"),
        ("forget: I prefer German", "I prefer German"),
        ("Forget it", None),
        ("forget my password?", None),
        ("How do I forget a wifi network", None),
        ("Don't forget that I am vegetarian", None),
    ],
)
def test_explicit_forget_phrasings(message: str, request_: str | None) -> None:
    assert explicit_forget(message) == request_


def test_forget_deletes_the_closest_memory_of_the_user_only(repo: MemoryRepository) -> None:
    office = repo.add("acme", "ada", "I work in the Lyon office", MemorySource.EXPLICIT)
    repo.add("acme", "ada", "I am vegetarian", MemorySource.EXPLICIT)
    repo.add("acme", "vic", "I work in the Lyon office", MemorySource.EXPLICIT)
    assert repo.forget("acme", "ada", "that I have a cat") is None
    gone = repo.forget("acme", "ada", "I work in Lyon")
    assert gone is not None
    assert gone.id == office.id
    assert [m.text for m in repo.list_for("acme", "ada")] == ["I am vegetarian"]
    assert [m.text for m in repo.list_for("acme", "vic")] == ["I work in the Lyon office"]


def test_add_list_and_delete(repo: MemoryRepository, db: SqlDatabase) -> None:
    first = repo.add("acme", "ada", "I work in the Berlin office", MemorySource.EXPLICIT)
    second = repo.add("acme", "ada", "I prefer answers in German", MemorySource.EXTRACTED)
    assert [m.id for m in repo.list_for("acme", "ada")] == [second.id, first.id]
    repo.delete("acme", "ada", first.id)
    assert [m.text for m in repo.list_for("acme", "ada")] == ["I prefer answers in German"]
    assert db.fetchone("SELECT count(*) FROM memories WHERE id = ?", (first.id,)) == (0,)
    with pytest.raises(NotFoundError):
        repo.delete("acme", "ada", first.id)


def test_memories_never_cross_users_or_tenants(repo: MemoryRepository) -> None:
    mine = repo.add("acme", "ada", "I work in the Berlin office", MemorySource.EXPLICIT)
    repo.add("globex", "ada", "I work in the Tokyo office", MemorySource.EXPLICIT)
    assert [m.text for m in repo.list_for("acme", "vic")] == []
    assert [m.text for m in repo.list_for("globex", "ada")] == ["I work in the Tokyo office"]
    assert [r.memory.id for r in repo.recall("acme", "ada", "Which office do I work in?")] == [
        mine.id
    ]
    assert repo.recall("acme", "vic", "Which office do I work in?") == []
    with pytest.raises(NotFoundError):  # someone else's id is simply not found
        repo.delete("acme", "vic", mine.id)
    with pytest.raises(NotFoundError):
        repo.delete("globex", "ada", mine.id)
    assert repo.delete_all("acme", "vic") == 0
    assert len(repo.list_for("acme", "ada")) == 1


def test_recall_ranks_by_relevance_and_drops_the_unrelated(repo: MemoryRepository) -> None:
    office = repo.add("acme", "ada", "I work in the Berlin office", MemorySource.EXPLICIT)
    diet = repo.add("acme", "ada", "I am vegetarian", MemorySource.EXPLICIT)
    repo.add("acme", "ada", "My manager is called Grace", MemorySource.EXPLICIT)
    recalled = repo.recall("acme", "ada", "What vegetarian food does the canteen serve?")
    assert recalled[0].memory.id == diet.id
    assert office.id not in [r.memory.id for r in recalled]
    assert all(r.similarity >= MemorySettings().recall_min_similarity for r in recalled)


def test_near_identical_memories_are_deduplicated(repo: MemoryRepository) -> None:
    repo.add("acme", "ada", "I work in the Berlin office", MemorySource.EXTRACTED)
    newer = repo.add("acme", "ada", "I work in the Berlin office.", MemorySource.EXPLICIT)
    assert [(m.id, m.source) for m in repo.list_for("acme", "ada")] == [
        (newer.id, MemorySource.EXPLICIT)
    ]
    repo.add("acme", "ada", "I am vegetarian", MemorySource.EXPLICIT)
    assert len(repo.list_for("acme", "ada")) == 2
    repo.add("acme", "vic", "I work in the Berlin office", MemorySource.EXPLICIT)
    assert len(repo.list_for("acme", "ada")) == 2  # another user's copy replaces nothing


def test_the_oldest_go_beyond_the_per_user_cap(db: SqlDatabase, embedder: LocalEmbedder) -> None:
    repo = MemoryRepository(db, embedder, MemorySettings(max_memories_per_user=2))
    texts = ["I like tea", "My desk is on floor 3", "I drive an electric car"]
    for text in texts:
        repo.add("acme", "ada", text, MemorySource.EXPLICIT)
    assert [m.text for m in repo.list_for("acme", "ada")] == texts[:0:-1]


def test_empty_and_oversized_memories_are_refused(repo: MemoryRepository) -> None:
    with pytest.raises(InvalidInputError):
        repo.add("acme", "ada", "   ", MemorySource.EXPLICIT)
    with pytest.raises(InvalidInputError):
        repo.add("acme", "ada", "x " * 400, MemorySource.EXPLICIT)


@pytest.mark.parametrize(
    ("reply", "facts"),
    [
        ('{"memories": ["The user works in Lyon."]}', ["The user works in Lyon."]),
        ('```json\n{"memories": []}\n```', []),
        ('{"memories": ["ok", "The user is a contractor"]}', ["The user is a contractor"]),
    ],
)
def test_extraction_replies_are_validated(reply: str, facts: list[str]) -> None:
    assert parse_facts(reply, 500) == facts


@pytest.mark.parametrize(
    "reply",
    [
        "The user works in Lyon.",
        '{"memories": "The user works in Lyon."}',
        '{"facts": ["The user works in Lyon."]}',
        json.dumps({"memories": ["a b"] * 4}),
        json.dumps({"memories": ["long " * 200]}),
    ],
)
def test_invalid_extraction_replies_are_rejected_whole(reply: str) -> None:
    with pytest.raises(ValueError, match=r"not the expected JSON|too long"):
        parse_facts(reply, 500)


@pytest.fixture
def extractor(openai_server: FakeOpenAIServer) -> Iterator[MemoryExtractor]:
    settings = LLMSettings(base_url=openai_server.url, read_timeout_s=1.0, max_retries=0)
    with OpenAIChat(settings) as llm:
        yield MemoryExtractor(llm)


def test_extraction_through_the_llm(
    openai_server: FakeOpenAIServer, extractor: MemoryExtractor
) -> None:
    openai_server.enqueue(Reply('{"memories": ["The user is a contractor based in Lyon."]}'))
    facts = extractor.extract("I'm a contractor in Lyon, how much leave do I get?")
    assert facts == ["The user is a contractor based in Lyon."]
    body = openai_server.requests[0].body
    assert body["messages"][0]["content"] == EXTRACT_SYSTEM_PROMPT
    assert "<message>\nI'm a contractor in Lyon" in body["messages"][1]["content"]


@pytest.mark.parametrize("failure", [Status(500), MalformedJSON(), Reply("not json at all")])
def test_extraction_failures_yield_nothing(
    openai_server: FakeOpenAIServer, extractor: MemoryExtractor, failure: object
) -> None:
    openai_server.enqueue(failure)  # type: ignore[arg-type]
    assert extractor.extract("I'm a contractor in Lyon") == []
