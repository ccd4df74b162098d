"""Extractive answers: the passages' own sentences that best answer the question.

Used when no LLM is configured, and as the fallback when the LLM fails or times out, so a
failing model never becomes an error for the user while evidence exists. Nothing is
generated, so nothing can be hallucinated or injected: every sentence is quoted from a
passage and cited.

Scoring a candidate sentence (passages' sentences, table rows kept whole):
    score = 0.65 · cos(question, sentence) + 0.35 · term_recall + 0.05 / passage_number
where ``term_recall`` is the share of the question's content words in the sentence. The
best sentences are taken greedily (skipping near-duplicates) up to ``max_sentences`` /
``max_words``, then shown in document order per passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kenning.citations.groundedness import content_words, split_sentences
from kenning.embedding.base import Embedder
from kenning.types import Passage

MIN_WORDS = 4
MAX_CANDIDATES = 400


@dataclass(frozen=True, slots=True)
class Candidate:
    passage: Passage
    text: str
    position: int
    score: float = 0.0


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Sentences (and table rows) of the passages that are long enough to answer."""
    found: list[Candidate] = []
    for passage in passages:
        position = 0
        for block in passage.text.split("\n"):
            for sentence in split_sentences(block):
                if len(sentence.split()) >= MIN_WORDS:
                    found.append(Candidate(passage, sentence, position))
                    position += 1
    return found[:MAX_CANDIDATES]


def rank_sentences(
    question: str, passages: Sequence[Passage], embedder: Embedder
) -> list[Candidate]:
    """Candidates with scores, best first."""
    pool = candidates(passages)
    if not pool:
        return []
    vectors = embedder.embed([question] + [c.text for c in pool])
    cosines = vectors[1:] @ vectors[0]
    terms = content_words(question)
    scored = []
    for cand, cos in zip(pool, cosines, strict=True):
        recall = len(terms & content_words(cand.text)) / len(terms) if terms else 0.0
        score = 0.65 * float(cos) + 0.35 * recall + 0.05 / cand.passage.number
        scored.append(Candidate(cand.passage, cand.text, cand.position, score))
    return sorted(scored, key=lambda c: -c.score)


def extractive_answer(
    question: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    *,
    max_sentences: int = 3,
    max_words: int = 120,
) -> str:
    """The best supporting sentences, each followed by its citation ``[n]``."""
    chosen = select(rank_sentences(question, passages, embedder), max_sentences, max_words)
    chosen.sort(key=lambda c: (c.passage.number, c.position))
    return " ".join(_cited(c.text, c.passage.number) for c in chosen)


def select(ranked: Sequence[Candidate], max_sentences: int, max_words: int) -> list[Candidate]:
    chosen: list[Candidate] = []
    words = 0
    for cand in ranked:
        size = len(cand.text.split())
        if chosen and (len(chosen) >= max_sentences or words + size > max_words):
            break
        if any(_near_duplicate(cand.text, c.text) for c in chosen):
            continue
        if chosen and cand.score < 0.6 * chosen[0].score:
            break  # much weaker than the best: noise, not support
        chosen.append(cand)
        words += size
    return chosen


def _near_duplicate(a: str, b: str) -> bool:
    wa, wb = content_words(a), content_words(b)
    return bool(wa) and len(wa & wb) / len(wa | wb) > 0.8


def _cited(sentence: str, number: int) -> str:
    """``sentence [n].``: the marker goes inside the sentence, before its final stop."""
    body, stop = (sentence[:-1], sentence[-1]) if sentence[-1:] in ".!?" else (sentence, ".")
    return f"{body.rstrip()} [{number}]{stop}"
