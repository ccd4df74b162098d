"""Hybrid search under the caller's ACL, ANDed with any filter the caller passes."""

from __future__ import annotations

from fastapi import APIRouter

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import HitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
def search(body: SearchRequest, caller: Reader, comps: ComponentsDep) -> SearchResponse:
    result = comps.retriever.search(
        body.query,
        principal=caller.principal,
        k=body.k,
        mode=body.mode,
        filter=body.filter.to_filter() if body.filter else None,
    )
    return SearchResponse(
        hits=[HitOut.of(h) for h in result.hits],
        timings_ms={k: round(v * 1000, 3) for k, v in result.timings.items()},
    )
