"""Embeddings from any OpenAI-compatible server: ``POST {base_url}/embeddings``.

Works with OpenAI, vLLM, Hugging Face TEI, llama.cpp's server, Ollama and LocalAI. What
the client guarantees on top of the wire protocol:

- Inputs go in batches of ``batch_size`` per request; rows are put back in input order by
  their ``index`` (servers may answer out of order), then L2-normalised.
- 429, 5xx, timeouts and connection errors are retried with exponential backoff, honouring
  ``Retry-After`` (capped); anything else, a malformed body or a wrong dimension is a
  ``RemoteModelError`` carrying the HTTP status.
- The API key only ever travels in the ``Authorization`` header; it is a ``SecretStr`` and
  never logged or shown in ``repr``.

``count_tokens`` cannot ask the server (the protocol has no tokenize call), so by default it
uses the packaged MiniLM WordPiece tokenizer: exact for MiniLM served remotely, an
approximation for other models (within ~10-20% for English with BPE tokenizers). Pass
``token_counter`` for an exact count.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
import numpy as np
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tokenizers import Tokenizer

from kenning._http import parse_retry_after as _parse_retry_after
from kenning.embedding.base import Vectors
from kenning.embedding.onnx_export import packaged_model_dir
from kenning.embedding.tokenization import load_tokenizer
from kenning.errors import RemoteModelError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
"""A server asking for a longer pause than this gets this; the caller's patience is finite."""

TokenCounter = Callable[[Sequence[str]], list[int]]


class _RetryableError(Exception):
    """A response worth retrying; becomes a ``RemoteModelError`` once attempts run out."""

    def __init__(self, status: int, detail: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, capped at ``MAX_RETRY_AFTER_S``."""
    seconds = _parse_retry_after(value, now=now)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


def _detail(response: httpx.Response) -> str:
    """A short, log-safe excerpt of an error body."""
    text = response.text.strip().replace("\n", " ")
    return text[:200] or response.reason_phrase


def _unit_rows(rows: Sequence[Sequence[float]], dimensions: int) -> Vectors:
    vectors = np.asarray(rows, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dimensions:
        got = vectors.shape[1] if vectors.ndim == 2 else "ragged"
        raise RemoteModelError(f"server returned {got}-d embeddings, expected {dimensions}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise RemoteModelError("server returned a zero or non-finite embedding")
    result: Vectors = vectors / norms
    return result


def _rows_in_order(body: Any, expected: int) -> list[Sequence[float]]:
    """``data[*].embedding`` sorted by ``index``; every index 0..expected-1 exactly once."""
    try:
        items = body["data"]
        by_index = {int(item["index"]): item["embedding"] for item in items}
    except (KeyError, TypeError, ValueError) as exc:
        raise RemoteModelError(f"malformed embeddings response: {exc!r}") from exc
    if len(items) != expected or sorted(by_index) != list(range(expected)):
        raise RemoteModelError(
            f"server returned {len(items)} embeddings with indexes {sorted(by_index)[:8]}..., "
            f"expected 0..{expected - 1}"
        )
    return [by_index[i] for i in range(expected)]


class OpenAIEmbedder:
    """Client for an OpenAI-compatible ``/embeddings`` endpoint; see the module docstring.

    ``transport`` lets tests and embedders inject an ``httpx`` transport. ``backoff_s`` is
    the first retry pause (doubling, capped at ``max_backoff_s``); ``max_attempts`` counts
    the first try.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | None,
        dimensions: int,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
        token_counter: TokenCounter | None = None,
        *,
        batch_size: int = 64,
        max_tokens: int = 256,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
    ) -> None:
        if batch_size < 1 or max_attempts < 1 or dimensions < 1:
            raise ValueError("batch_size, max_attempts and dimensions must be >= 1")
        self.name = model
        self.dimensions = dimensions
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._transport = transport
        self._token_counter = token_counter
        self._max_attempts = max_attempts
        self._backoff = wait_exponential(multiplier=backoff_s, max=max_backoff_s)
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._tokenizer: Tokenizer | None = None

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(url={self._url!r}, model={self._model!r})"

    def warm_up(self) -> None:
        """Open the connection pool (no request is sent: servers differ in health routes)."""
        self._http()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout_s, transport=self._transport, headers=self._headers()
                )
            return self._client

    def _headers(self) -> dict[str, str]:
        if self._api_key is None:
            return {}
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}

    def close(self) -> None:
        """Close pooled connections; the embedder reopens them if used again."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length float32 rows in input order, ``batch_size`` texts per request."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        return np.concatenate([self._embed_batch(list(b)) for b in batches])

    def _embed_batch(self, texts: list[str]) -> Vectors:
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception(
                lambda e: isinstance(e, _RetryableError | httpx.TransportError)
            ),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            body = retrying(self._post, texts)
        except _RetryableError as exc:
            raise RemoteModelError(
                f"{self._url} failed after {self._max_attempts} attempts: {exc}", status=exc.status
            ) from exc
        except httpx.TransportError as exc:
            raise RemoteModelError(f"{self._url} unreachable: {exc!r}") from exc
        return _unit_rows(_rows_in_order(body, len(texts)), self.dimensions)

    def _post(self, texts: list[str]) -> Any:
        payload = {"model": self._model, "input": texts, "encoding_format": "float"}
        response = self._http().post(self._url, json=payload)
        if response.status_code in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _RetryableError(response.status_code, _detail(response), retry_after)
        if response.is_error:
            raise RemoteModelError(
                f"{self._url} answered HTTP {response.status_code}: {_detail(response)}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteModelError(
                f"{self._url} answered with invalid JSON", status=response.status_code
            ) from exc

    def _wait(self, state: RetryCallState) -> float:
        """The server's ``Retry-After`` when it gave one, else exponential backoff."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "embeddings request to %s failed (%s); retry %d in %.1f s",
            self._url,
            exc,
            state.attempt_number,
            pause,
        )

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Exact with ``token_counter``; otherwise the MiniLM tokenizer's count (see module)."""
        if self._token_counter is not None:
            return self._token_counter(texts)
        if not texts:
            return []
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(packaged_model_dir(), truncate_at=None)
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]
