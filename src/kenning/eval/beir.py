"""Load a dataset in the BEIR folder layout (corpus, queries, qrels per split).

Layout (as written by the BEIR project, e.g. ``beir/scifact``)::

    corpus.jsonl        {"_id": str, "title": str, "text": str, "metadata": {...}} per line
    queries.jsonl       {"_id": str, "text": str, "metadata": {...}} per line
    qrels/{split}.tsv   header row, then  query-id <TAB> corpus-id <TAB> integer score

Everything here fails loudly with ``InvalidInputError`` naming the file and line: an
evaluation that silently skipped malformed rows would report a number for a different
dataset than the one named in the results table. The one leniency is the BEIR reader's
own: ``title`` may be missing (read as ""), and blank lines and CRLF line ends are fine.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kenning.errors import InvalidInputError

_SPLIT_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class BeirDocument:
    """One corpus entry. ``title`` is kept apart because BEIR retrievers embed
    ``title + " " + text`` and keyword retrievers may weight it differently."""

    id: str
    title: str
    text: str


BeirCorpus = dict[str, BeirDocument]
"""Corpus entries by document id, in file order."""


@dataclass(frozen=True, slots=True)
class BeirDataset:
    """A BEIR dataset restricted to one qrels split.

    ``queries`` holds only the queries judged in ``split`` (BEIR's own loader does the
    same), so ``len(queries)`` is the number of queries a report averages over.
    """

    split: str
    corpus: BeirCorpus
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def iter_corpus(folder: Path) -> Iterator[BeirDocument]:
    """Stream ``corpus.jsonl`` one document at a time, in file order.

    Raises ``InvalidInputError`` on a missing file, a malformed line or a repeated id
    (only the ids are remembered, so memory stays small for large corpora).
    """
    path = _existing(folder / "corpus.jsonl")
    seen: set[str] = set()
    for where, obj in _iter_jsonl(path):
        doc = BeirDocument(
            id=_str_field(obj, "_id", where),
            title=_str_field(obj, "title", where, default=""),
            text=_str_field(obj, "text", where),
        )
        if doc.id in seen:
            raise InvalidInputError(f"{where}: duplicate document id {doc.id!r}")
        seen.add(doc.id)
        yield doc


def load_corpus(folder: Path, *, limit: int | None = None) -> BeirCorpus:
    """Read the corpus into memory, or only its first ``limit`` documents.

    With a ``limit`` the rest of the file is not read, which keeps smoke tests fast;
    metrics computed on a truncated corpus are not comparable to published ones.
    """
    if limit is not None and limit < 0:
        raise InvalidInputError(f"limit must be >= 0, got {limit}")
    docs = itertools.islice(iter_corpus(folder), limit)
    return {doc.id: doc for doc in docs}


def load_queries(folder: Path, *, ids: Collection[str] | None = None) -> dict[str, str]:
    """Read ``queries.jsonl`` as query id -> text, optionally only the given ``ids``.

    Every requested id must exist: a judged query without text cannot be run.
    """
    path = _existing(folder / "queries.jsonl")
    wanted = None if ids is None else set(ids)
    queries: dict[str, str] = {}
    for where, obj in _iter_jsonl(path):
        qid = _str_field(obj, "_id", where)
        if qid in queries:
            raise InvalidInputError(f"{where}: duplicate query id {qid!r}")
        text = _str_field(obj, "text", where)
        if wanted is None or qid in wanted:
            queries[qid] = text
    _check_all_found(wanted, queries, path)
    return queries


def load_qrels(folder: Path, split: str = "test") -> dict[str, dict[str, int]]:
    """Read ``qrels/{split}.tsv`` as query id -> doc id -> integer grade.

    The first non-blank line must be the header (BEIR's loader skips it unread, so a
    file without one silently loses a judgment; here that is an error instead).
    """
    path = _existing(folder / "qrels" / f"{_checked_split(split)}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    rows = _iter_tsv(path)
    _check_header(next(rows, None), path)
    for where, (qid, doc_id, score) in rows:
        judgments = qrels.setdefault(qid, {})
        if doc_id in judgments:
            raise InvalidInputError(f"{where}: duplicate judgment for ({qid!r}, {doc_id!r})")
        judgments[doc_id] = _grade(score, where)
    return qrels


def load_beir(folder: Path, split: str = "test", *, corpus_limit: int | None = None) -> BeirDataset:
    """Load corpus, the queries judged in ``split`` and that split's qrels."""
    qrels = load_qrels(folder, split)
    queries = load_queries(folder, ids=qrels.keys())
    corpus = load_corpus(folder, limit=corpus_limit)
    return BeirDataset(split=split, corpus=corpus, queries=queries, qrels=qrels)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise InvalidInputError(f"BEIR file not found: {path}")
    return path


def _checked_split(split: str) -> str:
    """Refuse split names that are not a plain file stem (``../x`` would escape)."""
    if not _SPLIT_NAME.fullmatch(split) or split.startswith("."):
        raise InvalidInputError(f"invalid qrels split name {split!r}")
    return split


def _iter_lines(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``("path:lineno", line)`` for non-blank lines.

    Bytes are decoded line by line so that a UTF-8 error names its exact line.
    """
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"{where}: not valid UTF-8 ({exc.reason})") from exc
            if line.strip():
                yield where, line


def _iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, line in _iter_lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{where}: invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise InvalidInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield where, obj


def _str_field(obj: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise InvalidInputError(f"{where}: missing field {key!r}")
    if not isinstance(value, str):
        raise InvalidInputError(f"{where}: field {key!r} must be a string, got {value!r}")
    if key == "_id" and not value:
        raise InvalidInputError(f"{where}: empty '_id'")
    return value


def _iter_tsv(path: Path) -> Iterator[tuple[str, tuple[str, str, str]]]:
    for where, line in _iter_lines(path):
        fields = line.split("\t")
        if len(fields) != 3 or not all(f.strip() for f in fields):
            raise InvalidInputError(
                f"{where}: expected 3 tab-separated fields "
                f"(query-id, corpus-id, score), got {line!r}"
            )
        qid, doc_id, score = (f.strip() for f in fields)
        yield where, (qid, doc_id, score)


def _check_header(first: tuple[str, tuple[str, str, str]] | None, path: Path) -> None:
    if first is None:
        raise InvalidInputError(f"{path}: empty qrels file (not even a header row)")
    where, (_, _, score) = first
    if _is_int(score):
        raise InvalidInputError(
            f"{where}: first row looks like data; a header row "
            "'query-id<TAB>corpus-id<TAB>score' is required"
        )


def _grade(score: str, where: str) -> int:
    if not _is_int(score):
        raise InvalidInputError(f"{where}: score must be an integer, got {score!r}")
    return int(score)


def _is_int(text: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", text) is not None


def _check_all_found(wanted: set[str] | None, found: dict[str, str], path: Path) -> None:
    missing = sorted(wanted - found.keys()) if wanted is not None else []
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise InvalidInputError(f"{path}: {len(missing)} requested query ids missing: {shown}")
