"""BM25 over an in-memory inverted index, mirrored from the stored chunks.

Why not SQLite FTS5 (the first implementation; figures in bench/results/): FTS5 scores
every row that matches any query term before it can sort, and an OR query of a dozen
terms matches most of a 100k-chunk index, so the keyword leg took ~210 ms there. Here a
query gathers the postings of its terms as numpy slices and sums BM25 contributions
with one ``bincount`` per segment: a few milliseconds at 100k chunks, with the same ACL
pre-filter mask as the dense index (a filter never loses recall).

Layout, after Lucene: the index is a list of immutable-once-built *segments*. Chunks
appended since the last refresh become a new segment; a deleted chunk is removed from
its segment by filtering the postings (their order is kept, so no re-sort); small
segments are merged so a query touches few of them. Document frequencies and lengths
are kept exact across deletes, so scores equal a from-scratch BM25.

Scoring is Okapi BM25 exactly as FTS5's ``bm25()`` computes it (k1 = 1.2, b = 0.75,
idf = ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6), so rankings match the first
implementation's up to tokenisation details (see ``analyzer``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kenning.store.analyzer import document_terms

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]

K1 = 1.2
B = 0.75
_MIN_IDF = 1e-6
# Merge segments when there are more than this many; a query loops over segments.
_MAX_SEGMENTS = 6


@dataclass(frozen=True, slots=True)
class TextRows:
    """A batch of chunks to index: ids, their documents' primary keys, indexed text."""

    chunk_ids: IntArray
    doc_pks: IntArray
    texts: Sequence[str]


@dataclass(frozen=True, slots=True)
class _Segment:
    """Chunks ``chunk_ids`` (ascending) and their postings sorted by term id.

    ``post_rows`` index into this segment's rows; ``term_starts[t]`` is where term ``t``'s
    postings begin in the sorted ``post_terms`` (found by binary search at query time).
    """

    chunk_ids: IntArray
    doc_pks: IntArray
    lengths: FloatArray
    post_terms: Int32Array
    post_rows: Int32Array
    post_tf: FloatArray

    def __len__(self) -> int:
        return int(self.chunk_ids.shape[0])

    def postings(self, term: int) -> tuple[Int32Array, FloatArray]:
        # The probe must have the array's dtype, or numpy converts the whole array first.
        lo, hi = np.searchsorted(self.post_terms, np.array([term, term + 1], dtype=np.int32))
        return self.post_rows[lo:hi], self.post_tf[lo:hi]


class KeywordIndex:
    """Thread-safe BM25 index refreshed by store revision, like ``DenseIndex``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._vocab: dict[str, int] = {}
        self._df = np.zeros(1024, dtype=np.int64)
        self._segments: list[_Segment] = []
        self._total_length = 0.0

    def __len__(self) -> int:
        return sum(len(s) for s in self._segments)

    @property
    def revision(self) -> int | None:
        return self._revision

    def refresh(
        self,
        revision: int,
        load_after: Callable[[int], TextRows],
        live_ids: Callable[[int], Iterable[int]],
    ) -> None:
        """Bring the index to ``revision``: drop deleted chunks, add chunks with larger ids."""
        with self._lock:
            if self._revision == revision:
                return
            last = max((int(s.chunk_ids[-1]) for s in self._segments if len(s)), default=0)
            if self._segments:
                live = np.fromiter(live_ids(last), dtype=np.int64)
                self._segments = [self._without_deleted(s, live) for s in self._segments]
            fresh = load_after(last)
            if len(fresh.chunk_ids):
                self._segments.append(self._build(fresh))
            self._segments = [s for s in self._segments if len(s)]
            if len(self._segments) > _MAX_SEGMENTS:
                self._segments = [_merge(self._segments)]
            self._revision = revision

    def search(
        self, terms: Sequence[str], k: int, allowed_doc_pks: IntArray | None
    ) -> list[tuple[int, float]]:
        """Top-``k`` (chunk id, BM25) among chunks whose document is allowed (None = all)."""
        with self._lock:
            segments, vocab, df = list(self._segments), self._vocab, self._df
            total_length = self._total_length
        n = sum(len(s) for s in segments)
        term_ids = [vocab[t] for t in terms if t in vocab]
        if not n or not term_ids or k <= 0:
            return []
        idf = {t: max(math.log((n - df[t] + 0.5) / (df[t] + 0.5)), _MIN_IDF) for t in term_ids}
        avg_length = total_length / n
        best: list[tuple[int, float]] = []
        for segment in segments:
            best += _search_segment(segment, idf, avg_length, k, allowed_doc_pks)
        best.sort(key=lambda pair: (-pair[1], pair[0]))
        return best[:k]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 idf of each known term over every indexed chunk, as ``search`` scores it
        (a second ranking stage weighs query terms by the same statistics)."""
        with self._lock:
            vocab, df = self._vocab, self._df
            n = sum(len(s) for s in self._segments)
        counts = {t: int(df[vocab[t]]) for t in terms if t in vocab}
        return {
            t: max(math.log((n - c + 0.5) / (c + 0.5)), _MIN_IDF) for t, c in counts.items() if c
        }

    # -- maintenance (under the lock) ---------------------------------------------------

    def _build(self, rows: TextRows) -> _Segment:
        terms: list[int] = []
        row_of: list[int] = []
        freqs: list[int] = []
        lengths = np.empty(len(rows.texts), dtype=np.float32)
        vocab = self._vocab
        for row, text in enumerate(rows.texts):
            counts, length = document_terms(text)
            lengths[row] = length
            for term, count in counts.items():
                term_id = vocab.get(term)
                if term_id is None:
                    term_id = vocab[term] = len(vocab)
                terms.append(term_id)
                row_of.append(row)
                freqs.append(count)
        post_terms = np.asarray(terms, dtype=np.int32)
        order = np.argsort(post_terms, kind="stable")
        self._grow_df(len(vocab))
        # New arrays, never in-place: searches read ``_df`` without the lock.
        self._df = self._df + np.bincount(post_terms, minlength=len(self._df))
        self._total_length += float(lengths.sum())
        return _Segment(
            chunk_ids=rows.chunk_ids,
            doc_pks=rows.doc_pks,
            lengths=lengths,
            post_terms=post_terms[order],
            post_rows=np.asarray(row_of, dtype=np.int32)[order],
            post_tf=np.asarray(freqs, dtype=np.float32)[order],
        )

    def _without_deleted(self, segment: _Segment, live: IntArray) -> _Segment:
        keep = np.isin(segment.chunk_ids, live)
        if keep.all():
            return segment
        kept_posting = keep[segment.post_rows]
        gone_terms = segment.post_terms[~kept_posting]
        self._df = self._df - np.bincount(gone_terms, minlength=len(self._df))
        self._total_length -= float(segment.lengths[~keep].sum())
        new_row = np.cumsum(keep, dtype=np.int32) - 1
        return _Segment(
            chunk_ids=segment.chunk_ids[keep],
            doc_pks=segment.doc_pks[keep],
            lengths=segment.lengths[keep],
            post_terms=segment.post_terms[kept_posting],
            post_rows=new_row[segment.post_rows[kept_posting]],
            post_tf=segment.post_tf[kept_posting],
        )

    def _grow_df(self, size: int) -> None:
        if size > len(self._df):
            grown = np.zeros(max(size, 2 * len(self._df)), dtype=np.int64)
            grown[: len(self._df)] = self._df
            self._df = grown


def _search_segment(
    segment: _Segment,
    idf: dict[int, float],
    avg_length: float,
    k: int,
    allowed_doc_pks: IntArray | None,
) -> list[tuple[int, float]]:
    rows_parts: list[Int32Array] = []
    weight_parts: list[npt.NDArray[np.floating[Any]]] = []
    for term, term_idf in idf.items():
        rows, tf = segment.postings(term)
        if not len(rows):
            continue
        norm = K1 * (1.0 - B + B * segment.lengths[rows] / avg_length)
        rows_parts.append(rows)
        weight_parts.append(term_idf * tf * (K1 + 1.0) / (tf + norm))
    if not rows_parts:
        return []
    rows = np.concatenate(rows_parts)
    scores = np.bincount(rows, weights=np.concatenate(weight_parts), minlength=len(segment))
    candidates = np.flatnonzero(scores)  # every weight is > 0: touched rows only
    if allowed_doc_pks is not None:
        candidates = candidates[np.isin(segment.doc_pks[candidates], allowed_doc_pks)]
    if not len(candidates):
        return []
    cand_scores = scores[candidates]
    if len(candidates) > k:
        top = np.argpartition(-cand_scores, k - 1)[:k]
        candidates, cand_scores = candidates[top], cand_scores[top]
    return [
        (int(segment.chunk_ids[r]), float(s)) for r, s in zip(candidates, cand_scores, strict=True)
    ]


def _merge(segments: Sequence[_Segment]) -> _Segment:
    """One segment holding every row of ``segments`` (in order), postings re-sorted."""
    offsets = np.cumsum([0, *(len(s) for s in segments[:-1])])
    post_terms = np.concatenate([s.post_terms for s in segments])
    order = np.argsort(post_terms, kind="stable")
    post_rows = np.concatenate(
        [s.post_rows + np.int32(off) for s, off in zip(segments, offsets, strict=True)]
    )
    return _Segment(
        chunk_ids=np.concatenate([s.chunk_ids for s in segments]),
        doc_pks=np.concatenate([s.doc_pks for s in segments]),
        lengths=np.concatenate([s.lengths for s in segments]),
        post_terms=post_terms[order],
        post_rows=post_rows[order],
        post_tf=np.concatenate([s.post_tf for s in segments])[order],
    )
