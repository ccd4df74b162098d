"""Ingestion jobs of the caller's tenant: status and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kenning.api.deps import ComponentsDep, Editor
from kenning.api.routes.documents import job_out
from kenning.api.schemas import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["documents"])


@router.get("")
def list_jobs(
    caller: Editor, comps: ComponentsDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[JobOut]:
    return [job_out(j) for j in comps.jobs.list_for(caller.user.tenant, limit)]


@router.get("/{job_id}")
def get_job(job_id: str, caller: Editor, comps: ComponentsDep) -> JobOut:
    return job_out(comps.jobs.get(caller.user.tenant, job_id))
