"""The Embedder interface: one abstract batch method, conveniences built on it.

Contract for every backend:
- ``embed(texts)`` returns a float32 array of shape ``(len(texts), dimensions)``, each row
  L2-normalised, rows in input order; an empty input gives shape ``(0, dimensions)``.
- Texts longer than ``max_tokens`` are an error for ``embed`` callers that care: the
  chunker bounds chunk length with ``count_tokens`` so nothing is silently truncated
  (queries may be truncated; that is logged by the backend, not hidden).
- ``count_tokens`` counts in the model's own tokens, special tokens included.
- The constructor is cheap; ``warm_up()`` loads weights / opens connections and is
  idempotent. ``embed`` calls ``warm_up`` itself if needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""A batch of embeddings: shape (n, dimensions)."""
Vector = npt.NDArray[np.float32]
"""One embedding: shape (dimensions,)."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    dimensions: int
    max_tokens: int

    def warm_up(self) -> None: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def embed_one(embedder: Embedder, text: str) -> npt.NDArray[np.float32]:
    """Embed a single text (a query) as a 1-d vector."""
    vectors: npt.NDArray[np.float32] = embedder.embed([text])[0]
    return vectors
