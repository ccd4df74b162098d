"""Fuse ranked lists from several retrievers into one.

- Reciprocal rank fusion (Cormack et al., 2009): ``score(d) = Σ_i w_i / (k + rank_i(d))``.
  Uses ranks only, so it needs no score calibration between BM25 and cosine.
- Convex combination: ``score(d) = Σ_i w_i · norm_i(d)`` with per-list min-max
  normalisation over the candidates; a document missing from a list gets 0 there. Can beat
  RRF when tuned (Bruch et al., 2023), at the cost of one weight to tune.
Both work on ``(chunk id, score)`` pairs, so only the fused winners are ever loaded from
the store. Both are deterministic: ties break by first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

from kenning.store.base import ScoredChunk


def reciprocal_rank_fusion(
    ranked: Sequence[Sequence[ScoredChunk]], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[ScoredChunk]:
    """RRF over ranked lists of chunk ids; returns ``(id, fused score)``, best first."""
    weights = weights or [1.0] * len(ranked)
    scores: dict[int, float] = {}
    for pairs, weight in zip(ranked, weights, strict=True):
        for rank, (chunk_id, _) in enumerate(pairs, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    return _ranked(scores)


def convex_combination(
    ranked: Sequence[Sequence[ScoredChunk]], weights: Sequence[float]
) -> list[ScoredChunk]:
    """Weighted sum of min-max normalised scores; ``weights`` pair with ``ranked``."""
    scores: dict[int, float] = {}
    for pairs, weight in zip(ranked, weights, strict=True):
        if not pairs:
            continue
        values = [score for _, score in pairs]
        low, span = min(values), max(values) - min(values)
        for chunk_id, score in pairs:
            norm = (score - low) / span if span > 0 else 1.0
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * norm
    return _ranked(scores)


def _ranked(scores: dict[int, float]) -> list[ScoredChunk]:
    # dicts keep insertion order and sorted() is stable: ties keep first appearance.
    return sorted(scores.items(), key=lambda pair: -pair[1])
