"""Finding the passages that answer a query: keyword and dense legs, fusion."""

from kenning.retrieval.fusion import convex_combination, reciprocal_rank_fusion
from kenning.retrieval.hybrid import Retriever, SearchResult

__all__ = ["Retriever", "SearchResult", "convex_combination", "reciprocal_rank_fusion"]
