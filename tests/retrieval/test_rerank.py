"""The passage reranker and the sentence-vector cache, on a real store and the real model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from kenning.embedding import make_embedder
from kenning.embedding.base import Embedder, Vectors, embed_one
from kenning.embedding.cache import CachedEmbedder
from kenning.library import Kenning
from kenning.retrieval.hybrid import Retriever
from kenning.retrieval.rerank import PassageReranker, chunk_sentences
from kenning.settings import (
    EmbeddingSettings,
    RerankMethod,
    RetrievalSettings,
    SearchMode,
    Settings,
)
from kenning.store.sqlite import SQLiteStore
from kenning.types import Hit
from tests.store.contract import SYSTEM, make_write

FILLER = [
    "The trial enrolled adults from twelve hospitals.",
    "Participants were followed for six months.",
    "Adverse events were recorded at every visit.",
]
# Same words, same counts: whole-chunk BM25 cannot tell them apart. In SCATTERED the
# query's terms sit four sentences apart; in ANSWERING one sentence says what was asked.
SCATTERED = " ".join(
    [
        "The vaccine was given in two doses.",
        *FILLER,
        "Efficacy was measured by the 95 percent rule.",
    ]
)
ANSWERING = " ".join(
    [*FILLER, "The vaccine efficacy was 95 percent.", "It was given in two doses by the rule."]
)


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return make_embedder(EmbeddingSettings(), tmp_path_factory.mktemp("models"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "kenning.db")
    store.warm_up()
    store.replace_documents(
        [
            make_write("/kb/scattered.md", [SCATTERED]),
            make_write("/kb/answering.md", [ANSWERING], seed=1),
            make_write("/kb/other.md", ["Parking is free for visitors."], seed=2),
        ]
    )
    yield store
    store.close()


def tied_hits(store: SQLiteStore) -> list[Hit]:
    """Both topical chunks with the same fused score, the scattered one listed first."""
    by_source = {h.source: h for h in store.keyword_search("vaccine", principal=SYSTEM, k=5)}
    ids = [by_source["/kb/scattered.md"].chunk.id, by_source["/kb/answering.md"].chunk.id]
    return store.load_hits(SYSTEM, [(ids[0], 1.0), (ids[1], 1.0)])


QUERY = "What was the vaccine efficacy?"


def test_the_chunk_that_answers_moves_up(store: SQLiteStore, embedder: Embedder) -> None:
    hits = tied_hits(store)
    reranked = PassageReranker(store, embedder).rerank(QUERY, embed_one(embedder, QUERY), hits)
    assert [h.source for h in reranked] == ["/kb/answering.md", "/kb/scattered.md"]
    assert [h.rank for h in reranked] == [1, 2]
    assert reranked[0].score > reranked[1].score


@pytest.mark.parametrize(("lexical", "dense"), [(1.0, 0.0), (0.0, 1.0)])
def test_each_signal_alone_prefers_the_answer(
    store: SQLiteStore, embedder: Embedder, lexical: float, dense: float
) -> None:
    reranker = PassageReranker(store, embedder, lexical_weight=lexical, dense_weight=dense)
    reranked = reranker.rerank(QUERY, embed_one(embedder, QUERY), tied_hits(store))
    assert reranked[0].source == "/kb/answering.md"


def test_zero_weights_keep_the_fused_order(store: SQLiteStore, embedder: Embedder) -> None:
    hits = tied_hits(store)
    reranker = PassageReranker(store, embedder, lexical_weight=0.0, dense_weight=0.0)
    reranked = reranker.rerank(QUERY, embed_one(embedder, QUERY), hits)
    assert [h.chunk.id for h in reranked] == [h.chunk.id for h in hits]


def test_fused_score_still_counts(store: SQLiteStore, embedder: Embedder) -> None:
    """A small window advantage cannot overturn a large first-stage lead."""
    hits = tied_hits(store)
    lead = store.load_hits(SYSTEM, [(hits[0].chunk.id, 10.0), (hits[1].chunk.id, 0.0)])
    reranker = PassageReranker(store, embedder, lexical_weight=0.2, dense_weight=0.2)
    assert reranker.rerank(QUERY, embed_one(embedder, QUERY), lead)[0].source == (
        "/kb/scattered.md"
    )


def test_sentences_follow_blocks_and_are_bounded() -> None:
    text = "First line. Second sentence here.\nA new block"
    assert chunk_sentences(text) == ["First line.", "Second sentence here.", "A new block"]
    assert len(chunk_sentences(" ".join(f"Sentence {i}." for i in range(100)))) == 40


def test_retriever_reranks_hybrid_only(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "trial.md").write_text(f"# Trial\n\n{SCATTERED}\n\n# Results\n\n{ANSWERING}\n")
    with Kenning(settings=Settings(data_dir=tmp_path / "data")) as kb:
        kb.ingest([docs])
        hybrid = kb.search(QUERY, k=1)
        keyword = kb.search(QUERY, k=1, mode=SearchMode.KEYWORD)
    assert "rerank" in hybrid.timings
    assert "rerank" not in keyword.timings
    assert len(hybrid.hits) == 1


def test_rerank_can_be_switched_off(tmp_path: Path, embedder: Embedder) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.replace_documents([make_write("/kb/a.md", [SCATTERED, ANSWERING])])
    settings = RetrievalSettings(rerank=RerankMethod.NONE)
    vector = embed_one(embedder, QUERY).tolist()
    result = Retriever(store, embedder, settings).search(
        QUERY, principal=SYSTEM, k=2, vector=vector
    )
    assert "rerank" not in result.timings
    forced = Retriever(store, embedder, settings).search(
        QUERY, principal=SYSTEM, k=2, vector=vector, rerank=True
    )
    assert "rerank" in forced.timings
    store.close()


class Counting:
    """An embedder that records what it was asked to embed (wrapping the real one)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dimensions, self.max_tokens = inner.name, inner.dimensions, inner.max_tokens
        self.calls: list[list[str]] = []

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def test_cache_returns_the_same_vectors_and_embeds_each_text_once(embedder: Embedder) -> None:
    counting = Counting(embedder)
    cache = CachedEmbedder(counting, max_entries=10)
    first = cache.embed(["alpha beta", "gamma", "alpha beta"])
    again = cache.embed(["gamma", "delta", "alpha beta"])
    assert counting.calls == [["alpha beta", "gamma"], ["delta"]]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_allclose(again[2], first[0])
    np.testing.assert_allclose(again, embedder.embed(["gamma", "delta", "alpha beta"]), atol=1e-5)
    assert (cache.hits, cache.misses) == (3, 3)
    assert cache.embed([]).shape == (0, embedder.dimensions)


def test_cache_evicts_least_recently_used(embedder: Embedder) -> None:
    counting = Counting(embedder)
    cache = CachedEmbedder(counting, max_entries=2)
    cache.embed(["one"])
    cache.embed(["two"])
    cache.embed(["one"])  # "one" is now the most recent
    cache.embed(["three"])  # evicts "two"
    cache.embed(["one", "two"])
    assert counting.calls == [["one"], ["two"], ["three"], ["two"]]
