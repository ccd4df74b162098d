"""The retriever: keyword and dense legs, each pre-filtered by ACL, fused into one ranking,
then (hybrid mode, by default) re-ordered by the passage reranker.

Each leg asks the store for ``candidates`` hits under the same principal and filter, so
fusion only ever sees chunks the caller may read. Identical passages (the same text
indexed from two files) are collapsed to the best-ranked one so they do not crowd out
other evidence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from opentelemetry.trace import Span

from kenning.embedding.base import Embedder, embed_one
from kenning.observability import tracing
from kenning.retrieval.fusion import convex_combination, reciprocal_rank_fusion
from kenning.retrieval.rerank import PassageReranker
from kenning.settings import FusionMethod, RerankMethod, RetrievalSettings, SearchMode
from kenning.store.base import ScoredChunk, Store
from kenning.types import Hit, Principal, SearchFilter


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked hits plus how long each stage took (seconds), for metrics and benchmarks."""

    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    dense_scores: dict[int, float] = field(default_factory=dict)
    """Cosine similarity of each dense-leg hit to the query, by chunk id: a calibrated
    evidence signal (fused scores are rank-based and mean nothing on their own)."""


class Retriever:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: RetrievalSettings,
        *,
        sentence_embedder: Embedder | None = None,
    ) -> None:
        """``sentence_embedder`` embeds the reranker's sentences (a ``CachedEmbedder``
        shared with answering); by default ``embedder``."""
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.reranker = PassageReranker(
            store,
            sentence_embedder or embedder,
            window=settings.rerank_window,
            lexical_weight=settings.rerank_lexical_weight,
            dense_weight=settings.rerank_dense_weight,
        )

    def search(
        self,
        query: str,
        *,
        principal: Principal,
        k: int = 10,
        mode: SearchMode | None = None,
        filter: SearchFilter | None = None,
        vector: Sequence[float] | None = None,
        rerank: bool | None = None,
    ) -> SearchResult:
        """Top-``k`` hits for ``query`` that ``principal`` may read.

        ``vector`` is the query's embedding when the caller already has it (benchmarks,
        batch evaluation); otherwise the dense leg embeds ``query`` itself. ``rerank``
        overrides the setting; only hybrid results are reranked.
        """
        mode = mode or self.settings.mode
        if rerank is None:
            rerank = self.settings.rerank is not RerankMethod.NONE
        rerank = rerank and mode is SearchMode.HYBRID
        attributes = {"kenning.k": k, "kenning.search_mode": mode.value}
        with tracing.stage("retrieve", attributes) as span:
            result = self._search(query, principal, k, mode, filter, vector, rerank)
            span.set_attribute("kenning.hits", len(result.hits))
            if result.hits:
                span.set_attribute("kenning.top_score", result.hits[0].score)
        return result

    def _search(
        self,
        query: str,
        principal: Principal,
        k: int,
        mode: SearchMode,
        filter: SearchFilter | None,
        vector: Sequence[float] | None,
        rerank: bool,
    ) -> SearchResult:
        timings: dict[str, float] = {}
        depth = max(k, self.settings.candidates) if mode is SearchMode.HYBRID else k
        legs: list[list[ScoredChunk]] = []
        dense: list[ScoredChunk] = []
        if mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
            with _timed("keyword", timings) as span:
                keyword = self.store.keyword_scores(
                    query, principal=principal, k=depth, filter=filter
                )
                span.set_attribute("kenning.hits", len(keyword))
            legs.append(keyword)
        if mode in (SearchMode.DENSE, SearchMode.HYBRID):
            if vector is None:
                with _timed("embed_query", timings):
                    vector = embed_one(self.embedder, query).tolist()
            with _timed("dense", timings) as span:
                dense = self.store.dense_scores(vector, principal=principal, k=depth, filter=filter)
                span.set_attribute("kenning.hits", len(dense))
                if dense:
                    span.set_attribute("kenning.top_score", dense[0][1])
            legs.append(dense)
        with _timed("fusion", timings):
            fused = self._fuse(legs) if len(legs) > 1 else legs[0]
        load_k = max(k, self.settings.rerank_depth) if rerank else k
        with _timed("load", timings) as span:
            hits = self._load_unique(principal, fused, load_k)
            span.set_attribute("kenning.hits", len(hits))
        if rerank and vector is not None:
            with _timed("rerank", timings) as span:
                query_vector = np.asarray(vector, dtype=np.float32)
                top = self.settings.rerank_depth
                span.set_attribute("kenning.candidates", min(top, len(hits)))
                hits = (self.reranker.rerank(query, query_vector, hits[:top]) + hits[top:])[:k]
        return SearchResult(hits=hits, timings=timings, dense_scores=dict(dense))

    def _fuse(self, legs: list[list[ScoredChunk]]) -> list[ScoredChunk]:
        if self.settings.fusion is FusionMethod.CONVEX:
            alpha = self.settings.convex_alpha
            return convex_combination(legs, weights=[1.0 - alpha, alpha])
        return reciprocal_rank_fusion(legs, k=self.settings.rrf_k)

    def _load_unique(self, principal: Principal, ranked: list[ScoredChunk], k: int) -> list[Hit]:
        """The first ``k`` hits with distinct text, loading a few extra in case of duplicates."""
        hits: list[Hit] = []
        seen: set[str] = set()
        start = 0
        while len(hits) < k and start < len(ranked):
            batch = ranked[start : start + 2 * k]
            start += len(batch)
            for hit in self.store.load_hits(principal, batch):
                key = hit.chunk.text.strip()
                if key not in seen:
                    seen.add(key)
                    hits.append(hit)
        return [
            Hit(
                chunk=h.chunk,
                score=h.score,
                document_title=h.document_title,
                source=h.source,
                rank=rank,
            )
            for rank, h in enumerate(hits[:k], start=1)
        ]


@contextmanager
def _timed(stage: str, timings: dict[str, float]) -> Iterator[Span]:
    """A ``retrieve.<stage>`` span, and the stage's seconds into ``timings``."""
    started = time.perf_counter()
    with tracing.stage(f"retrieve.{stage}") as span:
        yield span
    timings[stage] = time.perf_counter() - started
