"""Fuse ranked lists from several retrievers into one.

- Reciprocal rank fusion (Cormack et al., 2009): ``score(d) = Σ_i w_i / (k + rank_i(d))``.
  Uses ranks only, so it needs no score calibration between BM25 and cosine.
- Convex combination: ``score(d) = Σ_i w_i · norm_i(d)`` with per-list min-max
  normalisation over the candidates; a document missing from a list gets 0 there. Can beat
  RRF when tuned (Bruch et al., 2023), at the cost of one weight to tune.
Both are deterministic: ties break by first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

from kenning.types import Hit


def reciprocal_rank_fusion(
    ranked: Sequence[Sequence[Hit]], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[Hit]:
    """RRF over lists of hits keyed by chunk id; returns hits with fused scores, best first."""
    weights = weights or [1.0] * len(ranked)
    scores: dict[int, float] = {}
    first: dict[int, Hit] = {}
    for hits, weight in zip(ranked, weights, strict=True):
        for rank, hit in enumerate(hits, start=1):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight / (k + rank)
            first.setdefault(hit.chunk.id, hit)
    return _ranked(first, scores)


def convex_combination(ranked: Sequence[Sequence[Hit]], weights: Sequence[float]) -> list[Hit]:
    """Weighted sum of min-max normalised scores; ``weights`` pair with ``ranked``."""
    scores: dict[int, float] = {}
    first: dict[int, Hit] = {}
    for hits, weight in zip(ranked, weights, strict=True):
        if not hits:
            continue
        values = [h.score for h in hits]
        low, span = min(values), max(values) - min(values)
        for hit in hits:
            norm = (hit.score - low) / span if span > 0 else 1.0
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight * norm
            first.setdefault(hit.chunk.id, hit)
    return _ranked(first, scores)


def _ranked(first: dict[int, Hit], scores: dict[int, float]) -> list[Hit]:
    order = sorted(first, key=lambda cid: -scores[cid])  # stable: ties keep first appearance
    return [
        Hit(
            chunk=first[cid].chunk,
            score=scores[cid],
            document_title=first[cid].document_title,
            source=first[cid].source,
            rank=rank,
        )
        for rank, cid in enumerate(order, start=1)
    ]
