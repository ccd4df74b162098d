"""Turn free text into a safe FTS5 MATCH expression for BM25 ranking.

User text never reaches FTS5 syntax: it is cut into word tokens, stop words are dropped,
and each remaining token is double-quoted (an FTS5 string literal), joined with OR.
OR, not FTS5's default AND, because BM25 ranking wants every document that shares any
informative term; requiring all terms loses most relevant passages for long questions.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)

# A compact English stop list (the Lucene/Elasticsearch default plus question words):
# these terms carry no ranking signal and make OR queries match nearly every chunk.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "do",
        "did",
        "can",
        "could",
        "should",
        "would",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "having",
        "been",
        "being",
        "am",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "him",
        "her",
        "his",
        "its",
        "them",
        "those",
        "than",
        "so",
        "very",
        "s",
        "t",
        "just",
        "also",
        "any",
        "all",
        "each",
        "other",
        "some",
        "only",
        "own",
        "same",
        "too",
        "about",
        "above",
        "after",
        "again",
        "against",
        "before",
        "below",
        "between",
        "both",
        "down",
        "during",
        "further",
        "here",
        "more",
        "most",
        "off",
        "once",
        "out",
        "over",
        "under",
        "until",
        "up",
        "while",
        "from",
    ]
)

MAX_TERMS = 64


def query_terms(text: str) -> list[str]:
    """Lower-cased informative terms of ``text``, in order, without duplicates."""
    seen: dict[str, None] = {}
    for token in _WORD.findall(text.lower()):
        if token not in STOP_WORDS and token not in seen:
            seen[token] = None
    return list(seen)[:MAX_TERMS]


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH string for ``text``, or None when nothing informative is left."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
