"""Structured logs carry request and trace ids, and secrets never reach them: real
requests carrying passwords, tokens and API keys, a failing LLM called with its key,
and secrets logged on purpose, then the captured output is searched for each secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kenning.observability.logging import configure_logging, redact
from kenning.settings import LLMSettings, LogFormat, ObservabilitySettings
from tests.api.conftest import PASSWORD, running_service
from tests.fakes.openai_server import FakeOpenAIServer, Status
from tests.observability.conftest import LEAVE, METRICS_TOKEN, observed_settings

LLM_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
DSN_PASSWORD = "pg-hunter2-secret"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(ObservabilitySettings(log_format=LogFormat.JSON), stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_secrets_never_reach_the_logs(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    captured: io.StringIO,
    spans: InMemorySpanExporter,
) -> None:
    settings = observed_settings(tmp_path / "data", openai_server.url)
    settings = settings.model_copy(
        update={"llm": LLMSettings(base_url=openai_server.url, model="fake-model",
                                   api_key=LLM_KEY, max_retries=0)}
    )  # fmt: skip
    secrets: list[str] = [PASSWORD, LLM_KEY, DSN_PASSWORD, METRICS_TOKEN]
    with running_service(settings) as svc:
        client = svc.client
        assert svc.upload("ed", {"leave.md": LEAVE})["status"] == "done"
        login = client.post(
            "/v1/auth/login", json={"tenant": "acme", "username": "ada", "password": PASSWORD}
        ).json()
        secrets += [login["access_token"], login["refresh_token"]]
        bad = client.post(
            "/v1/auth/login", json={"tenant": "acme", "username": "ada", "password": "wrong-pw-77"}
        )
        assert bad.status_code == 401
        secrets.append("wrong-pw-77")
        key = client.post("/v1/api-keys", headers=svc.auth("ada"), json={"name": "ci"}).json()[
            "key"
        ]
        secrets.append(key)
        openai_server.enqueue(Status(500))  # the LLM fails: the client logs the failure
        asked = client.post(
            "/v1/chat",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "req-abc-123"},
            json={"question": "How many days of paid leave do staff get?"},
        )
        assert asked.status_code == 200
        assert asked.headers["x-request-id"] == "req-abc-123"
        assert all(
            r.headers.get("authorization") == f"Bearer {LLM_KEY}"
            for r in openai_server.requests if r.path.endswith("/chat/completions")
        )  # fmt: skip  # the key was really in use
        client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        # Secrets handed to a logger anyway, the ways real code slips.
        log = logging.getLogger("kenning.test")
        log.warning("connecting to postgresql://kenning:%s@db:5432/kenning", DSN_PASSWORD)
        log.warning("request headers %s", {"Authorization": f"Bearer {key}"})
        log.info("settings: api_key=%s password=%s", LLM_KEY, PASSWORD)
        try:
            raise RuntimeError(f"login failed for token {login['access_token']}")
        except RuntimeError:
            log.exception("unexpected")
    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    for secret in secrets:
        assert secret not in output, secret
    chat = [r for r in lines if r["logger"] == "kenning.access" and r.get("route") == "/v1/chat"]
    assert len(chat) == 1
    assert chat[0]["request_id"] == "req-abc-123"
    assert chat[0]["status"] == 200
    assert (
        len(chat[0]["trace_id"] or "") == 32
    )  # the request's trace (a tracer provider is installed)
    assert any("[REDACTED]" in r["message"] for r in lines if r["logger"] == "kenning.test")
    assert any("Traceback" in r.get("exc_info", "") for r in lines)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"password": "s3cr3t!x"}', "s3cr3t!x"),
        ("Authorization: Bearer abc.def-ghi_123456", "abc.def-ghi_123456"),
        ("key kn_0a1b2c3d_Zm9vYmFyYmF6cXV4", "Zm9vYmFyYmF6cXV4"),
        ("token eyJhbGciOi.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
        ("dsn postgresql://k:pa55word@db/x", "pa55word"),
        ("api_key=sk-abcdefghijklmnop1234", "sk-abcdefghijklmnop1234"),
        ("'jwt_secret': 'topsecretvalue'", "topsecretvalue"),
    ],
)
def test_redact_patterns(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "POST /v1/chat 200 41.2ms: 3 citations, groundedness 0.91"
    assert redact(text) == text
