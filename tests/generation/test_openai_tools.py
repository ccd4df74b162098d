"""``OpenAIChat.complete_with_tools``: OpenAI's tools protocol against the fake server."""

from __future__ import annotations

import pytest

from kenning.errors import RemoteModelError
from kenning.generation.openai_chat import OpenAIChat
from kenning.settings import LLMSettings
from tests.fakes.openai_server import FakeOpenAIServer, MalformedJSON, Status, ToolCalls

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def chat(server: FakeOpenAIServer, **settings: object) -> OpenAIChat:
    return OpenAIChat(LLMSettings(base_url=server.url, **settings), sleep=lambda s: None)


def test_tool_calls_come_back_parsed_and_the_tools_are_sent(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.enqueue(ToolCalls((("lookup", {"id": 7}), ("lookup", "{broken")), "thinking"))
    messages = [{"role": "user", "content": "hi"}]
    with chat(openai_server) as llm:
        turn = llm.complete_with_tools(messages, TOOLS, max_tokens=50, temperature=0.0)
    assert turn.text == "thinking"
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [
        ("lookup", '{"id": 7}'),
        ("lookup", "{broken"),  # passed on unparsed: the agent answers it as a tool error
    ]
    assert len({c.id for c in turn.tool_calls}) == 2
    assert turn.finish_reason == "tool_calls"
    sent = openai_server.requests[0].body
    assert sent["tools"] == TOOLS
    assert sent["tool_choice"] == "auto"
    assert sent["stream"] is False


def test_a_plain_answer_has_no_tool_calls_and_no_tools_are_sent_when_none_exist(
    openai_server: FakeOpenAIServer,
) -> None:
    with chat(openai_server) as llm:
        turn = llm.complete_with_tools(
            [{"role": "user", "content": "hello"}], [], max_tokens=50, temperature=0.0
        )
    assert turn.text == "You said: hello"
    assert turn.tool_calls == ()
    assert "tools" not in openai_server.requests[0].body


def test_failures_follow_the_llm_contract(openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(Status(503), MalformedJSON())
    with chat(openai_server, max_retries=1) as llm, pytest.raises(RemoteModelError, match="JSON"):
        llm.complete_with_tools([{"role": "user", "content": "x"}], TOOLS, max_tokens=5,
                                temperature=0.0)  # fmt: skip
    assert len(openai_server.requests) == 2
