"""The in-memory BM25 index: scores equal SQLite FTS5's ``bm25()`` over the same rows,
through appends, deletes and segment merges, and the ACL mask is a true pre-filter."""

from __future__ import annotations

import random
import sqlite3

import numpy as np
import pytest

from kenning.store.analyzer import document_terms, query_terms
from kenning.store.keyword_index import KeywordIndex, TextRows

WORDS = [
    "pump",
    "valve",
    "sensor",
    "pressure",
    "flow",
    "calibration",
    "warranty",
    "invoice",
    "drift",
    "manual",
    "torque",
    "seal",
    "gasket",
    "firmware",
    "reading",
    "alarm",
    "threshold",
    "battery",
    "cable",
    "housing",
]


def corpus(n: int, seed: int) -> dict[int, str]:
    rng = random.Random(seed)
    return {
        i: " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) for i in range(1, n + 1)
    }


class Mirror:
    """A fake chunks table feeding ``KeywordIndex.refresh`` the way the store does."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[int, str]] = {}
        self.revision = 0
        self.index = KeywordIndex()

    def put(self, texts: dict[int, str], doc_pk: int = 1) -> None:
        for chunk_id, text in texts.items():
            self.rows[chunk_id] = (doc_pk, text)
        self.revision += 1

    def delete(self, ids: list[int]) -> None:
        for chunk_id in ids:
            del self.rows[chunk_id]
        self.revision += 1

    def search(self, query: str, k: int = 10, allowed: list[int] | None = None):
        self.index.refresh(self.revision, self._after, lambda _: np.array(sorted(self.rows)))
        mask = None if allowed is None else np.array(sorted(allowed), dtype=np.int64)
        return self.index.search(query_terms(query), k, mask)

    def _after(self, last: int) -> TextRows:
        ids = sorted(i for i in self.rows if i > last)
        return TextRows(
            chunk_ids=np.array(ids, dtype=np.int64),
            doc_pks=np.array([self.rows[i][0] for i in ids], dtype=np.int64),
            texts=[self.rows[i][1] for i in ids],
        )


def fts5_scores(rows: dict[int, str], query: str) -> dict[int, float]:
    """The reference: SQLite FTS5 with the tokenizer the analyzer mirrors."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", rows.items())
    expression = " OR ".join(f'"{t}"' for t in query_terms(query))
    found = conn.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?", (expression,))
    return {int(i): float(s) for i, s in found}


def assert_matches_fts5(mirror: Mirror, query: str) -> None:
    texts = {i: text for i, (_, text) in mirror.rows.items()}
    expected = fts5_scores(texts, query)
    got = dict(mirror.search(query, k=len(texts)))
    assert got.keys() == expected.keys()
    for chunk_id, score in expected.items():
        assert got[chunk_id] == pytest.approx(score, rel=1e-4, abs=1e-5)


QUERIES = ["pump pressure", "calibration drift of the sensor", "warranty invoice seal", "alarm"]


def test_scores_equal_fts5_bm25() -> None:
    mirror = Mirror()
    mirror.put(corpus(300, seed=1))
    for query in QUERIES:
        assert_matches_fts5(mirror, query)


def test_scores_stay_exact_through_appends_deletes_and_merges() -> None:
    mirror = Mirror()
    texts = corpus(400, seed=2)
    ids = sorted(texts)
    for start in range(0, 400, 40):  # ten refreshes: ten segments, merged on the way
        mirror.put({i: texts[i] for i in ids[start : start + 40]})
        mirror.search("pump")
    mirror.delete(ids[5:120:3])
    mirror.delete(ids[300:340])
    for query in QUERIES:
        assert_matches_fts5(mirror, query)
    deleted = set(ids[5:120:3]) | set(ids[300:340])
    assert not deleted & {cid for cid, _ in mirror.search("pump valve sensor", k=400)}


def test_allowed_documents_are_a_prefilter_not_a_post_filter() -> None:
    mirror = Mirror()
    # 200 strong matches in document 1, one weak match in document 2.
    mirror.put(dict.fromkeys(range(1, 201), "pump pump pump valve"), doc_pk=1)
    mirror.put({500: "a long text that mentions the pump once among many other words"}, doc_pk=2)
    assert [cid for cid, _ in mirror.search("pump", k=5, allowed=[2])] == [500]
    assert mirror.search("pump", k=5, allowed=[3]) == []
    assert len(mirror.search("pump", k=5)) == 5


def test_ranking_is_best_first_with_stable_ties() -> None:
    mirror = Mirror()
    mirror.put({1: "valve", 2: "pump valve", 3: "pump pump valve", 4: "pump valve"})
    hits = mirror.search("pump", k=3)
    assert [cid for cid, _ in hits] == [3, 2, 4]
    assert hits[0][1] > hits[1][1] == hits[2][1]


def test_analyzer_stems_folds_case_and_strips_diacritics() -> None:
    counts, length = document_terms("Café CAFES cafe_latte Running runs; naïve 42")
    assert counts["cafe"] == 3
    assert counts["run"] == 2
    assert counts["naiv"] == 1
    assert counts["latt"] == 1
    assert counts["42"] == 1
    assert length == 8
    assert query_terms("What is the warranty of the pumps?") == ["warranti", "pump"]
    assert query_terms("the of and") == []
