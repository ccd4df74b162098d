"""OpenAIChat against a real HTTP server on 127.0.0.1 (``tests.fakes.openai_server``).

Retries never really sleep: the client gets a recording ``sleep``. Only the timeout tests
wait, for a read timeout of 0.3 s.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pydantic import SecretStr

from kenning.errors import ConfigurationError, RemoteModelError
from kenning.generation import LLM, ChatMessage, Completion, OpenAIChat, StreamEvent, Usage
from kenning.generation.openai_chat import iter_sse_data, parse_retry_after
from kenning.settings import LLMSettings
from tests.fakes import (
    CutStreamAfter,
    FakeOpenAIServer,
    Hang,
    MalformedJSON,
    Reply,
    Status,
)

KEY = "sk-test-never-show-me-0123456789"
MESSAGES = [
    ChatMessage("system", "Answer from the sources."),
    ChatMessage("user", "What is the refund window?"),
]


class RecordingSleep:
    """Stands in for ``time.sleep``: remembers the pauses, waits for none of them."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


ChatFactory = Callable[..., OpenAIChat]


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_chat(openai_server: FakeOpenAIServer, sleep: RecordingSleep) -> Iterator[ChatFactory]:
    """Clients of the fake server (settings overridable); closed after the test."""
    made: list[OpenAIChat] = []

    def make(**overrides: Any) -> OpenAIChat:
        options: dict[str, Any] = {
            "base_url": openai_server.url,
            "model": "fake-model",
            "api_key": SecretStr(KEY),
            "connect_timeout_s": 2.0,
            "read_timeout_s": 5.0,
            "max_retries": 2,
            "max_retry_wait_s": 5.0,
        }
        made.append(OpenAIChat(LLMSettings(**(options | overrides)), sleep=sleep))
        return made[-1]

    yield make
    for chat in made:
        chat.close()


def complete(chat: OpenAIChat) -> Completion:
    return chat.complete(MESSAGES, max_tokens=64, temperature=0.0)


def stream(chat: OpenAIChat) -> Generator[StreamEvent, None, None]:
    return chat.stream(MESSAGES, max_tokens=64, temperature=0.0)


def drain(chat: OpenAIChat, received: list[StreamEvent]) -> None:
    """Collect events into ``received`` so a test can inspect them after a raise."""
    for event in stream(chat):
        received.append(event)


# -- happy paths -------------------------------------------------------------------------


def test_complete_returns_text_usage_and_finish_reason(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    chat = make_chat()
    assert isinstance(chat, LLM)
    assert chat.name == "fake-model"
    result = complete(chat)
    assert result == Completion(
        text="You said: What is the refund window?",
        usage=Usage(prompt_tokens=9, completion_tokens=7),
        finish_reason="stop",
        model="fake-model",
    )
    [request] = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": "Answer from the sources."},
            {"role": "user", "content": "What is the refund window?"},
        ],
        "max_tokens": 64,
        "temperature": 0.0,
        "stream": False,
    }


def test_stream_yields_deltas_in_order_then_finish_reason_and_usage(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(Reply("Refunds are accepted within 30 days [1].", chunk_size=5))
    events = list(stream(make_chat()))
    texts = [e.text for e in events if e.text]
    assert texts == ["Refun", "ds ar", "e acc", "epted", " with", "in 30", " days", " [1]."]
    assert "".join(texts) == "Refunds are accepted within 30 days [1]."
    assert events[-2] == StreamEvent(finish_reason="stop")
    assert events[-1] == StreamEvent(usage=Usage(prompt_tokens=9, completion_tokens=7))
    assert StreamEvent() not in events  # the role-only chunk and the comment are skipped
    body = openai_server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_stream_without_done_after_a_finish_reason_is_complete(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(Reply("All good.", send_done=False))
    events = list(stream(make_chat()))
    assert "".join(e.text for e in events) == "All good."
    assert any(e.finish_reason == "stop" for e in events)


def test_closing_a_stream_early_releases_its_connection(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    chat = make_chat()
    openai_server.enqueue(Reply("a long answer " * 20, chunk_size=4))
    events = stream(chat)
    assert next(events).text == "a lo"
    events.close()
    assert complete(chat).text.startswith("You said")


# -- retries -----------------------------------------------------------------------------


def test_429_with_retry_after_waits_that_long_then_succeeds(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(Status(429, retry_after=1), Reply("Second time lucky."))
    assert complete(make_chat()).text == "Second time lucky."
    assert sleep.calls == [pytest.approx(1.0)]
    assert len(openai_server.requests) == 2


def test_retry_after_as_http_date_is_honoured(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    openai_server.enqueue(Status(503, retry_after=soon))
    complete(make_chat())
    assert len(sleep.calls) == 1
    assert 1.0 < sleep.calls[0] <= 3.0


def test_503_on_every_attempt_gives_up_after_max_retries(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(*[Status(503)] * 3)
    with pytest.raises(RemoteModelError) as caught:
        complete(make_chat(max_retries=2))
    assert caught.value.status == 503
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(openai_server.requests) == 3
    first, second = sleep.calls  # exponential backoff, jittered within the upper half
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_retry_after_beyond_max_retry_wait_fails_at_once(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(Status(429, retry_after=120))
    with pytest.raises(RemoteModelError, match="max_retry_wait_s") as caught:
        complete(make_chat(max_retry_wait_s=20))
    assert caught.value.status == 429
    assert sleep.calls == []
    assert len(openai_server.requests) == 1


def test_read_timeout_is_retried_then_reported(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(*[Hang(10)] * 3)
    with pytest.raises(RemoteModelError, match="timed out") as caught:
        complete(make_chat(read_timeout_s=0.3, max_retries=2))
    assert caught.value.status is None
    assert "read_timeout_s=0.3" in str(caught.value)
    assert len(openai_server.requests) == 3
    assert len(sleep.calls) == 2


def test_a_truncated_json_body_is_retried(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(CutStreamAfter(0), Reply("Whole this time."))
    assert complete(make_chat()).text == "Whole this time."
    assert len(openai_server.requests) == 2


def test_connection_refused_is_retried_then_reported(
    make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteModelError, match="cannot connect") as caught:
        complete(make_chat(base_url=f"http://127.0.0.1:{port}/v1", max_retries=1))
    assert caught.value.status is None
    assert len(sleep.calls) == 1


# -- streaming: retried before the first event, never after -------------------------------


def test_stream_failing_before_its_first_event_is_retried(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    # a 503, then a stream cut after its role-only chunk: no event reached the caller yet
    openai_server.enqueue(Status(503), CutStreamAfter(0), Reply("Third time."))
    events = list(stream(make_chat(max_retries=2)))
    assert "".join(e.text for e in events) == "Third time."
    assert len(openai_server.requests) == 3
    assert len(sleep.calls) == 2


def test_stream_cut_after_first_chunk_raises_without_retry(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(CutStreamAfter(1))  # of the default answer, 8 characters a chunk
    received: list[StreamEvent] = []
    with pytest.raises(RemoteModelError, match="broke off after 1 events") as caught:
        drain(make_chat(), received)
    assert [e.text for e in received] == ["You said"]
    assert caught.value.status is None
    assert len(openai_server.requests) == 1
    assert sleep.calls == []


def test_stream_stalling_after_first_chunk_is_a_timeout_without_retry(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    openai_server.enqueue(Reply("Slow and then silent.", chunk_size=5, delay_between_chunks=10))
    received: list[StreamEvent] = []
    with pytest.raises(RemoteModelError, match="timed out"):
        drain(make_chat(read_timeout_s=0.3), received)
    assert [e.text for e in received] == ["Slow "]
    assert len(openai_server.requests) == 1
    assert sleep.calls == []


def test_stream_ending_without_done_or_finish_reason_raises(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(Reply("Unfinished", finish_reason=None, send_done=False))
    received: list[StreamEvent] = []
    with pytest.raises(RemoteModelError, match=r"ended before \[DONE\]"):
        drain(make_chat(), received)
    assert "".join(e.text for e in received) == "Unfinished"
    assert len(openai_server.requests) == 1


# -- answers that cannot be used ----------------------------------------------------------


def test_malformed_json_is_reported_without_retry(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(MalformedJSON())
    with pytest.raises(RemoteModelError, match="invalid JSON") as caught:
        complete(make_chat())
    assert caught.value.status is None
    assert len(openai_server.requests) == 1


def test_malformed_stream_chunk_is_reported_without_retry(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    openai_server.enqueue(MalformedJSON())
    with pytest.raises(RemoteModelError, match="invalid JSON"):
        list(stream(make_chat()))
    assert len(openai_server.requests) == 1


def test_400_surfaces_the_server_message_without_retry(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, sleep: RecordingSleep
) -> None:
    message = "This model's maximum context length is 8192 tokens."
    openai_server.enqueue(Status(400, {"error": {"message": message, "type": "invalid"}}))
    with pytest.raises(RemoteModelError) as caught:
        complete(make_chat())
    assert caught.value.status == 400
    assert message in str(caught.value)
    assert str(caught.value).startswith("HTTP 400")
    assert len(openai_server.requests) == 1
    assert sleep.calls == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": "chatcmpl-x", "object": "chat.completion"}, "no choices"),
        ({"choices": []}, "no choices"),
        ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "without a message"),
        ({"choices": "nope"}, "unexpected response shape: choices"),
        ({"error": {"message": "model overloaded"}}, "reported an error: model overloaded"),
    ],
)
def test_unusable_json_bodies_are_explained(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory, body: Any, expected: str
) -> None:
    openai_server.enqueue(Status(200, body))
    with pytest.raises(RemoteModelError, match=expected):
        complete(make_chat())


# -- credentials and configuration ---------------------------------------------------------


def test_key_is_sent_as_bearer_and_never_shown(
    openai_server: FakeOpenAIServer,
    make_chat: ChatFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = make_chat(max_retries=1)
    openai_server.enqueue(Status(503), Status(401))
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteModelError) as caught:
        complete(chat)
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert caplog.records  # the retry was logged...
    for shown in (str(caught.value), repr(caught.value), repr(chat), caplog.text):
        assert KEY not in shown  # ...and nothing shows the key
    assert KEY not in repr(LLMSettings(api_key=SecretStr(KEY)))


def test_no_key_sends_no_authorization_header(
    openai_server: FakeOpenAIServer, make_chat: ChatFactory
) -> None:
    complete(make_chat(api_key=None))
    assert "authorization" not in openai_server.requests[0].headers


@pytest.mark.parametrize("base_url", [None, "", "localhost:8000/v1", "ftp://example.org/v1"])
def test_unusable_base_url_fails_at_construction(base_url: str | None) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        OpenAIChat(LLMSettings(base_url=base_url))


# -- wire-format helpers -------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after(later, now=now) == 90.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0  # past
    assert parse_retry_after("-3", now=now) == 0.0
    for unusable in (None, "", "soon", "nan"):
        assert parse_retry_after(unusable, now=now) is None


def test_iter_sse_data_follows_the_event_stream_format() -> None:
    lines = [
        ": keep-alive",
        "",
        "event: message",
        'data: {"a":',
        "data:1}",
        "id: 7",
        "",
        "",
        "data: [DONE]",
    ]
    assert list(iter_sse_data(lines)) == ['{"a":\n1}', "[DONE]"]
