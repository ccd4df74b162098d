"""OpenAIEmbedder against a real HTTP server on 127.0.0.1 (see ``fake_openai_server``)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from kenning.embedding import Embedder, OpenAIEmbedder
from kenning.embedding.openai import MAX_RETRY_AFTER_S, parse_retry_after
from kenning.errors import RemoteModelError

from .fake_openai_server import FakeEmbeddingsServer, fake_vector

KEY = "sk-test-do-not-log-0123456789"
DIMS = 8


@pytest.fixture
def server() -> Iterator[FakeEmbeddingsServer]:
    with FakeEmbeddingsServer(DIMS) as fake:
        yield fake


ClientFactory = Callable[..., OpenAIEmbedder]


@pytest.fixture
def client() -> Iterator[ClientFactory]:
    """Builds embedders with fast backoff; closes their connections after the test."""
    made: list[OpenAIEmbedder] = []

    def make(
        base_url: str,
        *,
        dimensions: int = DIMS,
        api_key: str | None = KEY,
        **options: Any,
    ) -> OpenAIEmbedder:
        options = {"batch_size": 64, "backoff_s": 0.01, "max_backoff_s": 0.05} | options
        key = SecretStr(api_key) if api_key else None
        made.append(OpenAIEmbedder(base_url, "test-embedder", key, dimensions, 5.0, **options))
        return made[-1]

    yield make
    for embedder in made:
        embedder.close()


def _expected(texts: list[str]) -> np.ndarray:
    rows = np.stack([fake_vector(t, DIMS) for t in texts])
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_embeds_in_batches_in_input_order_and_normalised(
    server: FakeEmbeddingsServer, client: ClientFactory
) -> None:
    texts = [f"text number {i}" for i in range(150)]
    embedder = client(server.url)
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(texts)
    assert vectors.shape == (150, DIMS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, _expected(texts), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert [len(r.body["input"]) for r in server.requests] == [64, 64, 22]
    assert {r.path for r in server.requests} == {"/v1/embeddings"}
    assert server.requests[0].body["model"] == "test-embedder"


def test_server_really_shuffles_indexes(server: FakeEmbeddingsServer) -> None:
    """Guards the test above: ordering by ``index`` is actually exercised."""
    reply = server.normal_reply({"model": "m", "input": [str(i) for i in range(20)]})
    assert [d["index"] for d in reply.body["data"]] != list(range(20))


def test_api_key_travels_as_bearer_token(
    server: FakeEmbeddingsServer, client: ClientFactory
) -> None:
    client(server.url).embed(["hi"])
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_no_key_no_authorization_header(
    server: FakeEmbeddingsServer, client: ClientFactory
) -> None:
    client(server.url, api_key=None).embed(["hi"])
    assert "authorization" not in server.requests[0].headers


def test_429_waits_for_retry_after_then_succeeds(
    server: FakeEmbeddingsServer, caplog: pytest.LogCaptureFixture, client: ClientFactory
) -> None:
    server.enqueue(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})
    with caplog.at_level(logging.DEBUG):
        vectors = client(server.url).embed(["a", "b"])
    np.testing.assert_allclose(vectors, _expected(["a", "b"]), atol=1e-6)
    assert len(server.requests) == 2
    waited = server.requests[1].at - server.requests[0].at
    assert waited >= 0.95  # the server's Retry-After, not the 10 ms backoff
    assert "retry 1 in 1.0 s" in caplog.text
    assert KEY not in caplog.text


def test_persistent_500_gives_remote_model_error_with_status(
    server: FakeEmbeddingsServer, client: ClientFactory
) -> None:
    for _ in range(3):
        server.enqueue(500, {"error": {"message": "boom"}})
    with pytest.raises(RemoteModelError, match="after 3 attempts") as info:
        client(server.url, max_attempts=3).embed(["a"])
    assert info.value.status == 500
    assert len(server.requests) == 3
    assert KEY not in str(info.value)


def test_transient_503_is_retried(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    server.enqueue(503, None)
    server.enqueue(502, {"error": "bad gateway"})
    assert client(server.url).embed(["x"]).shape == (1, DIMS)
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    server.enqueue(400, {"error": {"message": "input too long"}})
    with pytest.raises(RemoteModelError, match="input too long") as info:
        client(server.url).embed(["a"])
    assert info.value.status == 400
    assert len(server.requests) == 1


def test_wrong_dimension_is_an_error(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    with pytest.raises(RemoteModelError, match="8-d embeddings, expected 16"):
        client(server.url, dimensions=16).embed(["a", "b"])
    assert len(server.requests) == 1


def test_missing_or_duplicate_indexes_are_an_error(
    server: FakeEmbeddingsServer, client: ClientFactory
) -> None:
    row = {"index": 0, "embedding": [1.0] * DIMS}
    server.enqueue(200, {"data": [row, row]})
    with pytest.raises(RemoteModelError, match=r"expected 0\.\.1"):
        client(server.url).embed(["a", "b"])


def test_malformed_body_is_an_error(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    server.enqueue(200, {"unexpected": True})
    with pytest.raises(RemoteModelError, match="malformed"):
        client(server.url).embed(["a"])


def test_zero_vector_is_an_error(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    server.enqueue(200, {"data": [{"index": 0, "embedding": [0.0] * DIMS}]})
    with pytest.raises(RemoteModelError, match="zero"):
        client(server.url).embed(["a"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_server_is_retried_then_an_error(client: ClientFactory) -> None:
    embedder = client(f"http://127.0.0.1:{_closed_port()}/v1", max_attempts=2)
    start = time.monotonic()
    with pytest.raises(RemoteModelError, match="unreachable") as info:
        embedder.embed(["a"])
    assert info.value.status is None
    assert time.monotonic() - start < 5


def test_empty_input_sends_nothing(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    assert client(server.url).embed([]).shape == (0, DIMS)
    assert server.requests == []


def test_repr_hides_the_key(server: FakeEmbeddingsServer, client: ClientFactory) -> None:
    assert KEY not in repr(client(server.url))


def test_count_tokens_defaults_to_the_minilm_tokenizer() -> None:
    embedder = OpenAIEmbedder("http://127.0.0.1:9/v1", "m", None, DIMS, 1.0)
    assert embedder.count_tokens(["hello world", ""]) == [4, 2]
    assert embedder.count_tokens([]) == []


def test_count_tokens_uses_the_given_counter() -> None:
    embedder = OpenAIEmbedder(
        "http://127.0.0.1:9/v1", "m", None, DIMS, 1.0, token_counter=lambda ts: [7] * len(ts)
    )
    assert embedder.count_tokens(["a", "b"]) == [7, 7]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("2", 2.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date_and_cap() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    in_ten = format_datetime(now + timedelta(seconds=10), usegmt=True)
    assert parse_retry_after(in_ten, now=now) == pytest.approx(10.0)
    assert parse_retry_after("86400") == MAX_RETRY_AFTER_S
