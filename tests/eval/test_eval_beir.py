"""BEIR loader: a tiny hand-written folder, malformed input, and the real SciFact."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.errors import InvalidInputError
from kenning.eval.beir import (
    BeirDocument,
    iter_corpus,
    load_beir,
    load_corpus,
    load_qrels,
    load_queries,
)

CORPUS: list[dict[str, object]] = [
    {"_id": "d1", "title": "First", "text": "alpha beta", "metadata": {}},
    {"_id": "d2", "text": "no title here"},
    {"_id": "d3", "title": "Third", "text": "gamma", "metadata": {"url": "x"}},
]
QUERIES: list[dict[str, object]] = [
    {"_id": "q1", "text": "what is alpha?", "metadata": {}},
    {"_id": "q2", "text": "gamma?"},
    {"_id": "q3", "text": "train only"},
]
TEST_QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\t2\nq2\td3\t0\n"
TRAIN_QRELS = "query-id\tcorpus-id\tscore\r\nq3\td2\t1\r\n"


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    _write(tmp_path, "corpus.jsonl", _jsonl(CORPUS) + "\n")  # trailing blank line is fine
    _write(tmp_path, "queries.jsonl", _jsonl(QUERIES))
    _write(tmp_path, "qrels/test.tsv", TEST_QRELS)
    _write(tmp_path, "qrels/train.tsv", TRAIN_QRELS)  # CRLF, as some BEIR copies have
    return tmp_path


# --- tiny folder ---------------------------------------------------------------------


def test_corpus_is_read_into_documents_in_file_order(beir_dir: Path) -> None:
    corpus = load_corpus(beir_dir)
    assert list(corpus) == ["d1", "d2", "d3"]
    assert corpus["d1"] == BeirDocument(id="d1", title="First", text="alpha beta")
    assert corpus["d2"].title == ""  # a missing title reads as empty, like BEIR's loader


def test_iter_corpus_streams_lazily(beir_dir: Path) -> None:
    _write(beir_dir, "corpus.jsonl", _jsonl(CORPUS[:1]) + "{broken\n")
    docs = iter_corpus(beir_dir)
    assert isinstance(docs, Iterator)
    assert next(docs).id == "d1"  # the broken second line has not been read yet
    with pytest.raises(InvalidInputError, match=r"corpus\.jsonl:2: invalid JSON"):
        next(docs)


def test_corpus_limit_stops_reading_early(beir_dir: Path) -> None:
    _write(beir_dir, "corpus.jsonl", _jsonl(CORPUS[:2]) + "{broken\n")
    assert list(load_corpus(beir_dir, limit=2)) == ["d1", "d2"]
    assert load_corpus(beir_dir, limit=0) == {}
    with pytest.raises(InvalidInputError, match="limit must be >= 0"):
        load_corpus(beir_dir, limit=-1)


def test_queries_all_or_selected(beir_dir: Path) -> None:
    assert load_queries(beir_dir) == {"q1": "what is alpha?", "q2": "gamma?", "q3": "train only"}
    assert load_queries(beir_dir, ids=["q2"]) == {"q2": "gamma?"}
    with pytest.raises(InvalidInputError, match="1 requested query ids missing: 'q9'"):
        load_queries(beir_dir, ids=["q1", "q9"])


def test_qrels_keep_grades_including_zero(beir_dir: Path) -> None:
    assert load_qrels(beir_dir, "test") == {"q1": {"d1": 1, "d3": 2}, "q2": {"d3": 0}}
    assert load_qrels(beir_dir, "train") == {"q3": {"d2": 1}}  # CRLF line ends


def test_load_beir_keeps_only_the_split_queries(beir_dir: Path) -> None:
    data = load_beir(beir_dir, "test")
    assert data.split == "test"
    assert data.queries == {"q1": "what is alpha?", "q2": "gamma?"}
    assert data.qrels == load_qrels(beir_dir, "test")
    assert len(data.corpus) == 3
    assert len(load_beir(beir_dir, corpus_limit=1).corpus) == 1


# --- malformed input -----------------------------------------------------------------

BAD_FILES: list[tuple[str, str | bytes, str]] = [
    (
        "corpus.jsonl",
        '{"_id": "d1", "text": "a"}\n[1, 2]\n',
        r"corpus\.jsonl:2: expected a JSON object",
    ),
    ("corpus.jsonl", '{"title": "t", "text": "a"}\n', r"corpus\.jsonl:1: missing field '_id'"),
    ("corpus.jsonl", '{"_id": "", "text": "a"}\n', r"empty '_id'"),
    ("corpus.jsonl", '{"_id": 7, "text": "a"}\n', r"field '_id' must be a string"),
    ("corpus.jsonl", '{"_id": "d1"}\n', r"missing field 'text'"),
    ("corpus.jsonl", '{"_id": "d1", "text": null}\n', r"missing field 'text'"),
    ("corpus.jsonl", '{"_id": "d1", "title": 3, "text": "a"}\n', r"field 'title' must be"),
    (
        "corpus.jsonl",
        '{"_id": "d1", "text": "a"}\n\n{"_id": "d1", "text": "b"}\n',
        r"corpus\.jsonl:3: duplicate document id 'd1'",
    ),
    (
        "corpus.jsonl",
        b'{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": "\xff"}\n',
        r":2: not valid UTF-8",
    ),
    (
        "queries.jsonl",
        '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n',
        r"duplicate query id",
    ),
    ("queries.jsonl", '{"_id": "q1", "text": "a"\n', r"queries\.jsonl:1: invalid JSON"),
]

BAD_QRELS: list[tuple[str, str]] = [
    ("", "empty qrels file"),
    ("q1\td1\t1\n", r"test\.tsv:1: first row looks like data"),
    ("query-id\tcorpus-id\tscore\nq1\td1\n", r"test\.tsv:2: expected 3 tab-separated fields"),
    ("query-id\tcorpus-id\tscore\nq1 d1 1\n", r"expected 3 tab-separated fields"),
    ("query-id\tcorpus-id\tscore\nq1\td1\t1\t0\n", r"expected 3 tab-separated fields"),
    ("query-id\tcorpus-id\tscore\nq1\t\t1\n", r"expected 3 tab-separated fields"),
    ("query-id\tcorpus-id\tscore\nq1\td1\t0.5\n", r"test\.tsv:2: score must be an integer"),
    ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t1\n", r"test\.tsv:3: duplicate judgment"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_malformed_jsonl_is_an_error_naming_the_line(
    beir_dir: Path, name: str, content: str | bytes, message: str
) -> None:
    _write(beir_dir, name, content)
    with pytest.raises(InvalidInputError, match=message):
        load_beir(beir_dir)


@pytest.mark.parametrize(("content", "message"), BAD_QRELS)
def test_malformed_qrels_is_an_error_naming_the_line(
    beir_dir: Path, content: str, message: str
) -> None:
    _write(beir_dir, "qrels/test.tsv", content)
    with pytest.raises(InvalidInputError, match=message):
        load_qrels(beir_dir, "test")


@pytest.mark.parametrize("missing", ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"])
def test_missing_file_is_an_error_naming_it(beir_dir: Path, missing: str) -> None:
    (beir_dir / missing).unlink()
    with pytest.raises(InvalidInputError, match=f"BEIR file not found: .*{missing}"):
        load_beir(beir_dir)


def test_missing_folder_and_unknown_split(tmp_path: Path, beir_dir: Path) -> None:
    with pytest.raises(InvalidInputError, match="BEIR file not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(InvalidInputError, match=r"qrels/dev\.tsv"):
        load_qrels(beir_dir, "dev")


def test_qrels_query_without_text_is_an_error(beir_dir: Path) -> None:
    _write(beir_dir, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq7\td1\t1\n")
    with pytest.raises(InvalidInputError, match="requested query ids missing: 'q7'"):
        load_beir(beir_dir)


@pytest.mark.parametrize("split", ["../test", "qrels/test", ".hidden", ""])
def test_split_must_be_a_plain_name(beir_dir: Path, split: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid qrels split name"):
        load_qrels(beir_dir, split)


# --- the real SciFact (numbers from shared/data/README.md) ----------------------------


def test_scifact_test_split_counts(scifact_dir: Path) -> None:
    start = time.perf_counter()
    data = load_beir(scifact_dir, "test")
    assert time.perf_counter() - start < 5.0
    assert len(data.corpus) == 5183
    assert len(data.queries) == 300
    assert sum(len(j) for j in data.qrels.values()) == 339
    assert {g for j in data.qrels.values() for g in j.values()} == {1}
    assert all(d in data.corpus for j in data.qrels.values() for d in j)
    assert all(doc.text for doc in data.corpus.values())


def test_scifact_train_split_is_disjoint_from_test(scifact_dir: Path) -> None:
    train = load_qrels(scifact_dir, "train")
    assert len(train) == 809
    assert sum(len(j) for j in train.values()) == 919
    assert not train.keys() & load_qrels(scifact_dir, "test").keys()
    assert len(load_queries(scifact_dir)) == 1109
