"""Fitting a conversation into the history budget: recent turns verbatim, older ones
summarised (by the LLM through a real OpenAI-protocol server, extractively otherwise)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from kenning.embedding import LocalEmbedder
from kenning.generation.openai_chat import OpenAIChat
from kenning.memory import HistoryFitter, Turn
from kenning.memory.history import SUMMARY_SYSTEM_PROMPT, extractive_summary
from kenning.settings import LLMSettings
from tests.fakes.openai_server import FakeOpenAIServer, Reply, Status


def words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def conversation(n: int) -> list[Turn]:
    return [
        Turn(
            f"Question {i} about topic{i} and its details?",
            f"Answer {i} says topic{i} is covered in section {i} [1]. More detail follows here.",
        )
        for i in range(n)
    ]


def fitter(count: object = words, llm: OpenAIChat | None = None, **kw: int) -> HistoryFitter:
    options = {"recent_turns": 3, "budget_tokens": 120, "summary_max_tokens": 40, **kw}
    return HistoryFitter(count, llm, **options)  # type: ignore[arg-type]


def cost(history_recent: Sequence[Turn], summary: str) -> int:
    texts = [f"User: {t.question}\nAssistant: {t.answer}" for t in history_recent]
    return sum(words(texts)) + (words([summary])[0] if summary else 0)


def test_short_conversation_stays_verbatim() -> None:
    turns = conversation(2)
    history = fitter().fit(turns)
    assert history.recent == tuple(turns)
    assert (history.summary, history.summarised_turns) == ("", 0)


@pytest.mark.parametrize("n", [4, 10, 40])
def test_long_conversation_is_summarised_within_budget(n: int) -> None:
    turns = conversation(n)
    history = fitter().fit(turns)
    assert history.summarised_turns == n - 3
    assert history.recent == tuple(turns[-3:])
    assert words([history.summary])[0] <= 40
    assert cost(history.recent, history.summary) <= 120
    assert f"topic{n - 4}" in history.summary  # the newest summarised turn is kept


def test_the_extractive_summary_keeps_the_newest_turns_and_drops_the_oldest() -> None:
    turns = conversation(30)
    summary = extractive_summary(turns, words, 50)
    assert words([summary])[0] <= 50
    assert "topic29" in summary
    assert "topic0 " not in summary
    assert "[1]" not in summary  # citation markers of old answers mean nothing now


def test_recent_turns_give_way_when_they_alone_exceed_the_budget() -> None:
    turns = conversation(3)
    history = fitter(budget_tokens=40, summary_max_tokens=10).fit(turns)
    assert history.recent == tuple(turns[-(len(history.recent)) :])
    assert cost(history.recent, history.summary) <= 40


def test_budget_zero_means_no_history() -> None:
    assert fitter(budget_tokens=0).fit(conversation(5)).empty


def test_a_cached_summary_covering_the_same_turns_is_reused() -> None:
    history = fitter().fit(conversation(6), cached=("cached summary", 3))
    assert history.summary == "cached summary"
    other = fitter().fit(conversation(7), cached=("cached summary", 3))
    assert other.summary != "cached summary"


def test_budgets_hold_with_the_real_tokenizer(embedder: LocalEmbedder) -> None:
    turns = conversation(25)
    fit = HistoryFitter(
        embedder.count_tokens, None, recent_turns=4, budget_tokens=200, summary_max_tokens=60
    )
    history = fit.fit(turns)
    texts = [f"User: {t.question}\nAssistant: {t.answer}" for t in history.recent]
    assert embedder.count_tokens([history.summary])[0] <= 60
    assert sum(embedder.count_tokens(texts)) + embedder.count_tokens([history.summary])[0] <= 200


@pytest.fixture
def llm(openai_server: FakeOpenAIServer) -> Iterator[OpenAIChat]:
    settings = LLMSettings(base_url=openai_server.url, read_timeout_s=1.0, max_retries=0)
    with OpenAIChat(settings) as client:
        yield client


def test_llm_summary_is_used_and_bounded(openai_server: FakeOpenAIServer, llm: OpenAIChat) -> None:
    openai_server.enqueue(Reply("The user asked about topics 0 to 6 and their sections."))
    history = fitter(llm=llm).fit(conversation(10))
    assert history.summary == "The user asked about topics 0 to 6 and their sections."
    [request] = openai_server.requests
    assert request.body["max_tokens"] == 40
    assert request.body["messages"][0]["content"] == SUMMARY_SYSTEM_PROMPT
    prompt = request.body["messages"][1]["content"]
    assert "Question 6 about topic6" in prompt
    assert "Question 7 about" not in prompt


def test_a_too_long_llm_summary_is_cut_to_the_budget(
    openai_server: FakeOpenAIServer, llm: OpenAIChat
) -> None:
    openai_server.enqueue(Reply(". ".join(f"Sentence {i} is here" for i in range(50)) + "."))
    history = fitter(llm=llm).fit(conversation(10))
    assert 0 < words([history.summary])[0] <= 40
    assert history.summary.startswith("Sentence 0 is here")


def test_llm_failure_falls_back_to_the_extractive_summary(
    openai_server: FakeOpenAIServer, llm: OpenAIChat
) -> None:
    openai_server.enqueue(Status(503))
    turns = conversation(10)
    history = fitter(llm=llm).fit(turns)
    assert history.summary == extractive_summary(turns[:7], words, 40)
