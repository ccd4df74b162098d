"""Text analysis for BM25: the same tokens for documents and queries.

Documents and queries go through one analyzer, the equivalent of SQLite FTS5's
``porter unicode61 remove_diacritics 2`` tokenizer that Kenning's keyword leg used first
(and that BEIR baselines resemble): tokens are runs of letters and digits (underscore
and punctuation separate), lower-cased, diacritics removed, then Porter-stemmed.

Queries additionally drop stop words and duplicates: BM25 ranking wants every document
that shares any informative term (an OR query); stop words would match nearly every
chunk and add only noise and cost. Documents keep every token, so lengths are true.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = Stemmer.Stemmer("porter")

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

MAX_QUERY_TERMS = 64


@lru_cache(maxsize=200_000)
def _normalise(token: str) -> str:
    """Diacritics removed (``café`` → ``cafe``), then the Porter stem."""
    if not token.isascii():
        decomposed = unicodedata.normalize("NFKD", token)
        token = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return str(_STEMMER.stemWord(token))


def document_terms(text: str) -> tuple[Counter[str], int]:
    """Term frequencies of ``text`` and its length in tokens (stop words included)."""
    tokens = _TOKEN.findall(text.lower())
    return Counter(map(_normalise, tokens)), len(tokens)


def query_terms(text: str) -> list[str]:
    """Informative analysed terms of a query, in order, without duplicates."""
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(text.lower()):
        if token not in STOP_WORDS:
            seen.setdefault(_normalise(token), None)
    return list(seen)[:MAX_QUERY_TERMS]
