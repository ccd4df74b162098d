"""Exact nearest-neighbour search over an in-memory float32 matrix.

Why exact search (see docs/vector-index.md): at the embedded scale (up to a few hundred
thousand chunks) one matrix-vector product over 384-d unit vectors takes milliseconds on
two cores, recall is 1.0 by construction, and an arbitrary ACL pre-filter is just a
boolean mask over rows, so a selective filter never loses recall (the failure mode of
filtered HNSW). Deletes are free: rows disappear on the next refresh.

The matrix mirrors the ``chunks`` table: vectors live in SQLite (transactional with the
chunks they belong to), and this index reloads incrementally when the store's revision
changes: appended rows are read by id, deleted rows are dropped by an id scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

# Below this share of admitted rows, gather the admitted rows and score only those;
# above it, scoring everything and masking is cheaper than the gather copy.
_GATHER_BELOW = 0.25


@dataclass(frozen=True, slots=True)
class Rows:
    """A batch of index rows: chunk ids, their documents' primary keys, vectors."""

    chunk_ids: IntArray
    doc_pks: IntArray
    vectors: FloatArray


class DenseIndex:
    """Thread-safe mirror of the stored vectors with masked top-k search."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._ids = np.empty(0, dtype=np.int64)
        self._doc_pks = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dimensions), dtype=np.float32)

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    @property
    def revision(self) -> int | None:
        return self._revision

    def refresh(
        self,
        revision: int,
        load_after: Callable[[int], Rows],
        live_ids: Callable[[int], Iterable[int]],
    ) -> None:
        """Bring the mirror to ``revision``: append rows with larger ids, drop deleted ones.

        Chunk ids only grow (AUTOINCREMENT), so "new" is "id above our largest".
        """
        with self._lock:
            if self._revision == revision:
                return
            last = int(self._ids[-1]) if len(self._ids) else 0
            if len(self._ids):
                keep = np.isin(self._ids, np.fromiter(live_ids(last), dtype=np.int64))
                if not keep.all():
                    self._ids, self._doc_pks = self._ids[keep], self._doc_pks[keep]
                    self._matrix = self._matrix[keep]
            fresh = load_after(last)
            if len(fresh.chunk_ids):
                self._ids = np.concatenate([self._ids, fresh.chunk_ids])
                self._doc_pks = np.concatenate([self._doc_pks, fresh.doc_pks])
                self._matrix = np.concatenate([self._matrix, fresh.vectors])
            self._revision = revision

    def search(
        self, query: FloatArray, k: int, allowed_doc_pks: IntArray | None
    ) -> list[tuple[int, float]]:
        """Top-``k`` (chunk id, cosine) among rows whose document is allowed (None = all)."""
        with self._lock:
            ids, doc_pks, matrix = self._ids, self._doc_pks, self._matrix
        if not len(ids) or k <= 0:
            return []
        if allowed_doc_pks is None:
            return _top_k(ids, matrix @ query, k)
        mask = np.isin(doc_pks, allowed_doc_pks)
        admitted = int(mask.sum())
        if admitted == 0:
            return []
        if admitted < _GATHER_BELOW * len(ids):
            rows = np.flatnonzero(mask)
            return _top_k(ids[rows], matrix[rows] @ query, k)
        scores = matrix @ query
        scores[~mask] = -np.inf
        return _top_k(ids, scores, min(k, admitted))


def _top_k(ids: IntArray, scores: FloatArray, k: int) -> list[tuple[int, float]]:
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
    order = top[np.argsort(-scores[top], kind="stable")]
    return [(int(ids[i]), float(scores[i])) for i in order]
