"""An embedder that remembers the vectors of recently embedded texts.

One question embeds the same sentences up to three times: the reranker scores the
sentences of the candidate chunks, the extractive answer ranks the sentences of the
passages it was given (the same chunks), and groundedness compares answer sentences with
passage sentences. A bounded LRU keyed by the exact text makes the second and third
passes nearly free, and the sentences of popular documents stay warm across questions.
Vectors are a pure function of the text for a given model, so the cache cannot go stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from kenning.embedding.base import Embedder, Vector, Vectors


class CachedEmbedder:
    """``Embedder`` over another one, with an LRU of at most ``max_entries`` vectors
    (384-d float32: about 1.5 kB each, so the default 20,000 hold ~30 MB)."""

    def __init__(self, inner: Embedder, max_entries: int = 20_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.max_tokens = inner.max_tokens
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self.inner.warm_up()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed(self, texts: Sequence[str]) -> Vectors:
        found: dict[str, Vector] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        self._count(len(texts) - len(missing), len(missing))
        if missing:
            fresh = self.inner.embed(missing)
            found.update(zip(missing, fresh, strict=True))
            self._remember(missing, fresh)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def cache_stats(self) -> dict[str, tuple[int, int]]:
        """Hits and misses (exported as a Prometheus hit ratio)."""
        with self._lock:
            return {"sentence_vectors": (self.hits, self.misses)}

    def _count(self, hits: int, misses: int) -> None:
        with self._lock:
            self.hits += hits
            self.misses += misses

    def _remember(self, texts: Sequence[str], vectors: Vectors) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
