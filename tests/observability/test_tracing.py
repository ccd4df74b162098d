"""The span tree of a chat request, from the OpenTelemetry in-memory exporter: one span
per pipeline stage, the useful attributes on them, and no question or answer text unless
``capture_content`` is on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.api.conftest import Service, running_service
from tests.fakes.openai_server import FakeOpenAIServer, count_tokens
from tests.observability.conftest import LEAVE, LLM_ANSWER, observed_settings

QUESTION = "How many days of paid leave do staff get?"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def tree(spans: Sequence[ReadableSpan]) -> dict[str, list[str]]:
    """Span name -> names of its children, in start order."""
    by_id = {s.context.span_id: s for s in spans}
    children: dict[str, list[str]] = {s.name: [] for s in spans}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        if span.parent is not None and span.parent.span_id in by_id:
            children[by_id[span.parent.span_id].name].append(span.name)
    return children


def ancestors(spans: Sequence[ReadableSpan], name: str) -> list[str]:
    """Names of the span's parent, grandparent, ... up to the root."""
    by_id = {s.context.span_id: s for s in spans}
    chain, span = [], named(spans, name)
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span.name)
    return chain


def named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def test_span_tree_of_a_chat_request(
    observed: Service, openai_server: FakeOpenAIServer, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    parent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    response = observed.client.post(
        "/v1/chat",
        headers={**observed.auth("ada"), "traceparent": parent},
        json={"question": QUESTION},
    )
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == "llm"
    finished = [s for s in spans.get_finished_spans() if s.name != "POST /v1/auth/login"]
    # FastAPI adds spans of its own (fastapi.endpoint, ...) between the server span and
    # the pipeline's: the server span is an ancestor of ``answer``, the root of the trace.
    assert "POST /v1/chat" in ancestors(finished, "answer")
    pipeline = {k: v for k, v in tree(finished).items() if not k.startswith(("POST", "fastapi"))}
    assert pipeline == {
        "answer": ["retrieve", "assemble", "evidence", "generate", "cite"],
        "retrieve": [
            "retrieve.keyword",
            "retrieve.embed_query",
            "retrieve.dense",
            "retrieve.fusion",
            "retrieve.load",
            "retrieve.rerank",
        ],
        **{
            f"retrieve.{leg}": []
            for leg in ("keyword", "embed_query", "dense", "fusion", "load", "rerank")
        },
        "assemble": [],
        "evidence": [],
        "generate": [],
        "cite": [],
        "memory": [],  # conversation memory, before the answer (docs/memory.md)
    }
    memory = named(finished, "memory").attributes or {}
    assert (memory["kenning.turns"], memory["kenning.rewrite"]) == (0, "none")
    server = named(finished, "POST /v1/chat")
    assert server.parent is not None
    assert server.parent.is_remote  # the caller's span, from the traceparent header
    assert format(server.context.trace_id, "032x") == TRACE_ID  # joined the caller's trace
    assert {s.context.trace_id for s in finished} == {server.context.trace_id}
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/chat"
    assert server.attributes["http.response.status_code"] == 200

    retrieve = named(finished, "retrieve").attributes or {}
    assert retrieve["kenning.k"] == observed.settings.answer.retrieve_k
    assert retrieve["kenning.search_mode"] == "hybrid"
    assert retrieve["kenning.hits"] == 1
    assert isinstance(retrieve["kenning.top_score"], float)
    dense = named(finished, "retrieve.dense").attributes or {}
    assert dense["kenning.hits"] == 1
    assert isinstance(dense["kenning.top_score"], float)
    evidence = named(finished, "evidence").attributes or {}
    assert evidence["kenning.evidence"] == pytest.approx(response.json()["evidence"])

    generate = named(finished, "generate")
    attrs = generate.attributes or {}
    request = [r for r in openai_server.requests if r.path.endswith("/chat/completions")][-1]
    prompt = sum(count_tokens(str(m["content"])) for m in request.body["messages"])
    assert attrs["gen_ai.request.model"] == "fake-model"
    assert attrs["gen_ai.usage.input_tokens"] == prompt
    assert attrs["gen_ai.usage.output_tokens"] == count_tokens(LLM_ANSWER)
    assert [e.name for e in generate.events] == ["first_token"]

    answer = named(finished, "answer").attributes or {}
    assert answer["kenning.mode"] == "llm"
    assert answer["kenning.citations"] == 1
    assert answer["kenning.groundedness"] == response.json()["groundedness"]
    for span in finished:  # content is off by default: no text of question or answer
        for value in (span.attributes or {}).values():
            assert "paid leave" not in str(value), (span.name, value)


def test_a_streamed_answer_keeps_the_tree_and_detaches_cleanly(
    observed: Service, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    spans.clear()
    with caplog.at_level(logging.ERROR), observed.client.stream(
        "POST", "/v1/chat", headers=observed.auth("ada"),
        json={"question": QUESTION, "stream": True},
    ) as response:  # fmt: skip
        assert b"event: answer" in response.read()
    finished = spans.get_finished_spans()
    assert tree(finished)["answer"] == ["retrieve", "assemble", "evidence", "generate", "cite"]
    assert ancestors(finished, "answer")[-1] == "POST /v1/chat"
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry")]


def test_content_is_captured_only_when_enabled(
    tmp_path: Path, openai_server: FakeOpenAIServer, spans: InMemorySpanExporter
) -> None:
    openai_server.responder = lambda request: LLM_ANSWER
    settings = observed_settings(tmp_path / "data", openai_server.url, capture_content=True)
    with running_service(settings) as svc:
        assert svc.upload("ed", {"leave.md": LEAVE})["status"] == "done"
        spans.clear()
        response = svc.client.post("/v1/chat", headers=svc.auth("ada"), json={"question": QUESTION})
        assert response.status_code == 200
    answer = named(spans.get_finished_spans(), "answer").attributes or {}
    assert answer["kenning.question"] == QUESTION
    assert answer["kenning.answer"] == response.json()["text"]
