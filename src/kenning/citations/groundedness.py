"""Groundedness: the share of answer sentences supported by a passage they cite.

Method (documented in docs/answers.md):
- The answer is split into sentences; each keeps the citation markers it carries (a
  marker at the start of the next sentence's text is attributed to the sentence before).
- A sentence is *supported* when, for some passage it cites, either
  (a) lexical containment — the share of the sentence's content words (lower-cased,
  stop words removed, crude suffix stemming) that occur in the passage — is ≥ 0.6, or
  (b) the cosine between the sentence's embedding and the best-matching sentence of the
  passage is ≥ 0.7 (same MiniLM model as retrieval; catches paraphrase).
- A sentence with no citation is unsupported, except very short connective sentences
  (fewer than 3 content words), which are not counted at all.
- groundedness = supported / counted sentences (1.0 for an answer with none counted).
Cheap (one embedding batch), deterministic, and strict in the useful direction: an
uncited claim always lowers the score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kenning.citations.markers import MARKER
from kenning.embedding.base import Embedder
from kenning.store.analyzer import STOP_WORDS
from kenning.types import Citation

CONTAINMENT_THRESHOLD = 0.6
COSINE_THRESHOLD = 0.7
MIN_CONTENT_WORDS = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_WORD = re.compile(r"\w+")
_LEADING_MARKERS = re.compile(r"^(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+")


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    sentence: str
    cited: tuple[int, ...]
    supported: bool
    counted: bool


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; conservative (only splits before a capital/digit/quote).

    Citation markers that open a piece ("… year. [1] Up to …") belong to the sentence
    before them, so they are moved back to it.
    """
    sentences: list[str] = []
    for piece in (s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()):
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] = f"{sentences[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(MARKER.sub(" ", text).lower()) if w not in STOP_WORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def assess(
    answer: str, citations: Sequence[Citation], embedder: Embedder | None
) -> list[SentenceSupport]:
    """Support of each answer sentence by the passages it cites."""
    passages = {c.number: c.passage.text for c in citations}
    sentences = split_sentences(answer)
    cited = [tuple(n for n in _numbers(s) if n in passages) for s in sentences]
    lexical = [
        any(_containment(s, passages[n]) >= CONTAINMENT_THRESHOLD for n in nums)
        for s, nums in zip(sentences, cited, strict=True)
    ]
    semantic = _semantic_support(sentences, cited, lexical, passages, embedder)
    return [
        SentenceSupport(
            sentence=s,
            cited=nums,
            supported=bool(nums) and (lex or sem),
            counted=len(content_words(s)) >= MIN_CONTENT_WORDS,
        )
        for s, nums, lex, sem in zip(sentences, cited, lexical, semantic, strict=True)
    ]


def groundedness(support: Sequence[SentenceSupport]) -> float:
    counted = [s for s in support if s.counted]
    if not counted:
        return 1.0
    return sum(s.supported for s in counted) / len(counted)


def _numbers(sentence: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(sentence) for n in m.group(1).split(",")]


def _containment(sentence: str, passage: str) -> float:
    words = content_words(sentence)
    if not words:
        return 1.0
    return len(words & content_words(passage)) / len(words)


def _semantic_support(
    sentences: Sequence[str],
    cited: Sequence[tuple[int, ...]],
    lexical: Sequence[bool],
    passages: dict[int, str],
    embedder: Embedder | None,
) -> list[bool]:
    """Cosine check, only for cited sentences the lexical test did not already accept."""
    todo = [i for i, (nums, lex) in enumerate(zip(cited, lexical, strict=True)) if nums and not lex]
    result = [False] * len(sentences)
    if embedder is None or not todo:
        return result
    numbers = sorted({n for i in todo for n in cited[i]})
    passage_sentences = {n: split_sentences(passages[n])[:200] for n in numbers}
    texts = [MARKER.sub("", sentences[i]) for i in todo]
    flat = [s for n in numbers for s in passage_sentences[n]]
    vectors = embedder.embed(texts + flat)
    queries, pool = vectors[: len(texts)], vectors[len(texts) :]
    offsets, start = {}, 0
    for n in numbers:
        offsets[n] = (start, start + len(passage_sentences[n]))
        start += len(passage_sentences[n])
    for row, i in enumerate(todo):
        best = max(
            (
                float(np.max(pool[a:b] @ queries[row]))
                for n in cited[i]
                for a, b in [offsets[n]]
                if b > a
            ),
            default=0.0,
        )
        result[i] = best >= COSINE_THRESHOLD
    return result
