"""Pytest plugin for the shared fakes; enable it in ``tests/conftest.py`` with
``pytest_plugins = ["tests.fakes.plugin"]``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A fresh OpenAI-compatible server per test; fails the test if the fake itself broke."""
    with FakeOpenAIServer() as server:
        yield server
    assert not server.errors, f"the fake OpenAI server raised: {server.errors!r}"
