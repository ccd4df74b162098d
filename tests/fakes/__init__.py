"""Test doubles shared across test packages: real servers rather than mocked transports."""

from __future__ import annotations

from tests.fakes.openai_server import (
    Behaviour,
    CutStreamAfter,
    FakeOpenAIServer,
    Hang,
    MalformedJSON,
    RecordedRequest,
    Reply,
    Responder,
    Status,
    count_tokens,
    echo_responder,
    fake_embedding,
)

__all__ = [
    "Behaviour",
    "CutStreamAfter",
    "FakeOpenAIServer",
    "Hang",
    "MalformedJSON",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Status",
    "count_tokens",
    "echo_responder",
    "fake_embedding",
]
