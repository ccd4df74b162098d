"""Citation markers: find ``[n]`` in an answer, drop the ones that point nowhere, renumber.

A model may cite ``[7]`` when there are five sources, or ``[2, 3]``, or ``[2][3]``. We keep
markers that name a passage in the context and remove the rest (a citation to nothing is
worse than none). Numbers are not changed: the answer was streamed to the user with them,
and the source list shows each passage under the number the model saw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kenning.types import Citation, Passage

# [3] or [2, 3] or [2,3,4]; not [a] or [] or footnote-like [^1].
MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(frozen=True, slots=True)
class CitedAnswer:
    text: str
    citations: tuple[Citation, ...]
    removed: int
    """How many markers pointed to no source and were dropped."""


def cited_numbers(text: str) -> list[int]:
    """Every number cited in ``text``, in order of appearance (with repeats)."""
    return [int(n) for m in MARKER.finditer(text) for n in m.group(1).split(",")]


def validate(text: str, passages: Sequence[Passage]) -> CitedAnswer:
    """Keep valid markers (normalised to ``[n][m]``), drop invalid ones."""
    by_number = {p.number: p for p in passages}
    order: dict[int, None] = {}
    removed = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal removed
        kept = []
        for raw in match.group(1).split(","):
            number = int(raw)
            if number not in by_number:
                removed += 1
                continue
            order.setdefault(number, None)
            if number not in kept:
                kept.append(number)
        return "".join(f"[{n}]" for n in kept)

    rewritten = MARKER.sub(rewrite, text)
    rewritten = re.sub(r"[ \t]+([.,;:!?])", r"\1", rewritten)  # "word [9]." → "word."
    citations = tuple(Citation(number=n, passage=by_number[n]) for n in sorted(order))
    return CitedAnswer(text=rewritten.strip(), citations=citations, removed=removed)
