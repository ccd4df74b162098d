"""Token accounting for the chunker: batched, cached, and additive by construction.

The embedder's ``count_tokens`` includes special tokens ([CLS]/[SEP] for BERT), so each
count carries a fixed overhead. Subtracting it once makes counts of whitespace-separated
pieces (close to) additive, which is what lets the chunker estimate a chunk's size by
summing its parts instead of re-tokenizing every candidate. Exact counts of the final
texts are still taken at the end; estimates only steer the packing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

CountTokens = Callable[[Sequence[str]], list[int]]
Span = tuple[int, int]

_SENTENCE_BREAK = re.compile(r"[.!?…。！？]+[\"'”’)\]]*\s+|\n+")
_WORD = re.compile(r"\S+")


class TokenCounter:
    """Wraps ``count_tokens``: one call per batch, overhead removed, repeats cached."""

    def __init__(self, count_tokens: CountTokens) -> None:
        self._count = count_tokens
        self._cache: dict[str, int] = {}
        self.overhead = count_tokens([""])[0]

    def content(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text adds to a sequence (its count minus special tokens)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, n in zip(missing, self._count(missing), strict=True):
                self._cache[text] = max(n - self.overhead, 0)
        return [self._cache[t] for t in texts]

    def exact(self, texts: Sequence[str]) -> list[int]:
        """Full counts, special tokens included, as the embedder will see them."""
        return list(self._count(list(texts))) if texts else []


def trimmed(text: str, start: int, end: int) -> Span | None:
    """Shrink ``[start, end)`` to exclude surrounding whitespace; ``None`` if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _pieces(text: str, start: int, end: int, breaks: re.Pattern[str]) -> Iterator[Span]:
    """Trimmed spans of ``text[start:end]`` between the matches of ``breaks``."""
    cursor = start
    for match in breaks.finditer(text, start, end):
        span = trimmed(text, cursor, match.end())
        if span is not None:
            yield span
        cursor = match.end()
    span = trimmed(text, cursor, end)
    if span is not None:
        yield span


def sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence-ish spans: break after terminal punctuation, and at line breaks."""
    return list(_pieces(text, start, end, _SENTENCE_BREAK))


def rows(text: str, start: int, end: int) -> list[Span]:
    """One span per non-empty line (table rows, code lines)."""
    return list(_pieces(text, start, end, re.compile(r"\n")))


def words(text: str, start: int, end: int) -> list[Span]:
    return [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
