"""Context assembly: ranked hits → numbered passages that fit the model's token budget.

Steps, and why:
1. Group hits by document and merge chunks that overlap or touch (adjacent ordinals), so
   a fact split across a chunk boundary reaches the model whole, and the same text is
   never shown twice under two numbers.
2. Order passages by their best hit's rank (the model reads the strongest evidence first;
   its number is also the order a person sees in the source list).
3. Add passages while they fit ``budget_tokens``; a passage that does not fit is skipped,
   not cut, so a quote is never truncated mid-sentence. The budget is in the counter's
   tokens; callers leave a margin for tokenizer differences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kenning.types import Hit, Passage

TokenCounter = Callable[[Sequence[str]], list[int]]
DocumentText = Callable[[str], str | None]


@dataclass(slots=True)
class _Span:
    hits: list[Hit]
    start: int
    end: int

    @property
    def best(self) -> Hit:
        return min(self.hits, key=lambda h: h.rank)


def assemble(
    hits: Sequence[Hit],
    *,
    document_text: DocumentText,
    count_tokens: TokenCounter,
    budget_tokens: int,
    max_passages: int = 12,
) -> list[Passage]:
    """Numbered passages for the prompt, best first, within ``budget_tokens``."""
    ranked = [h if h.rank else _with_rank(h, i) for i, h in enumerate(hits, start=1)]
    spans = sorted(_merge(ranked), key=lambda s: s.best.rank)
    texts = [_span_text(s, document_text) for s in spans]
    sizes = count_tokens(texts) if texts else []
    passages: list[Passage] = []
    used = 0
    for span, text, size in zip(spans, texts, sizes, strict=True):
        if len(passages) >= max_passages:
            break
        if used + size > budget_tokens:
            continue
        used += size
        passages.append(_passage(len(passages) + 1, span, text))
    return passages


def _with_rank(hit: Hit, rank: int) -> Hit:
    return Hit(hit.chunk, hit.score, hit.document_title, hit.source, rank)


def _merge(hits: Sequence[Hit]) -> list[_Span]:
    """Spans of touching or overlapping chunks, per document."""
    by_doc: dict[str, list[Hit]] = {}
    for hit in hits:
        by_doc.setdefault(hit.chunk.document_id, []).append(hit)
    spans: list[_Span] = []
    for doc_hits in by_doc.values():
        doc_hits.sort(key=lambda h: h.chunk.start)
        current: _Span | None = None
        for hit in doc_hits:
            c = hit.chunk
            touching = current is not None and (
                c.start <= current.end + 2 or c.ordinal == current.hits[-1].chunk.ordinal + 1
            )
            if current is not None and touching:
                current.hits.append(hit)
                current.end = max(current.end, c.end)
            else:
                current = _Span([hit], c.start, c.end)
                spans.append(current)
    return spans


def _span_text(span: _Span, document_text: DocumentText) -> str:
    if len(span.hits) == 1:
        return span.hits[0].chunk.text
    text = document_text(span.hits[0].chunk.document_id)
    if text is None or len(text) < span.end:  # document changed under us: use chunk texts
        return "\n\n".join(h.chunk.text for h in span.hits)
    return text[span.start : span.end]


def _passage(number: int, span: _Span, text: str) -> Passage:
    first = min(span.hits, key=lambda h: h.chunk.start)
    best = span.best
    return Passage(
        number=number,
        document_id=first.chunk.document_id,
        title=best.document_title,
        source=best.source,
        text=text,
        start=span.start,
        end=span.end,
        page=first.chunk.page,
        section=first.chunk.section,
        chunk_ids=tuple(h.chunk.id for h in sorted(span.hits, key=lambda h: h.chunk.start)),
        score=best.score,
    )
