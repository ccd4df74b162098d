"""Job records: what was asked, by whom, its status and its ingest report.

A job row is written before any work starts, so status is visible at once; a job that
was running when its process died is marked failed on the next start (the ingest
itself is crash-safe, and re-running the same request finishes the work).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kenning.db.engine import SqlDatabase
from kenning.errors import NotFoundError


class JobKind(StrEnum):
    UPLOAD = "upload"
    SYNC = "sync"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    tenant: str
    kind: JobKind
    status: JobStatus
    created_by: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    request: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


_COLUMNS = (
    "id, tenant, kind, status, created_by, created_at, started_at, finished_at, request,"
    " report, error"
)


class JobRepository:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def create(
        self, tenant: str, kind: JobKind, created_by: str, request: Mapping[str, Any]
    ) -> Job:
        job = Job(
            id=secrets.token_hex(8),
            tenant=tenant,
            kind=kind,
            status=JobStatus.QUEUED,
            created_by=created_by,
            created_at=time.time(),
            request=dict(request),
        )
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, tenant, kind, status, created_by, created_at, request)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    tenant,
                    kind.value,
                    job.status.value,
                    created_by,
                    job.created_at,
                    json.dumps(job.request),
                ),
            )
        return job

    def mark_running(self, job_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?",
                (time.time(), job_id),
            )

    def finish(self, job_id: str, report: Mapping[str, Any], error: str | None = None) -> None:
        status = JobStatus.FAILED if error else JobStatus.DONE
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, report = ?, error = ? WHERE id = ?",
                (status.value, time.time(), json.dumps(report), error, job_id),
            )

    def fail_interrupted(self) -> int:
        """Mark jobs left queued or running by a dead process as failed."""
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'failed', finished_at = ?,"
                " error = 'interrupted: the server stopped before the job finished; run it again'"
                " WHERE status IN ('queued', 'running')",
                (time.time(),),
            )
            return int(cursor.rowcount)

    def get(self, tenant: str, job_id: str) -> Job:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND tenant = ?", (job_id, tenant)
        )
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return _job(row)

    def list_for(self, tenant: str, limit: int = 50) -> list[Job]:
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM jobs WHERE tenant = ? ORDER BY created_at DESC LIMIT ?",
            (tenant, limit),
        )
        return [_job(r) for r in rows]


def _job(row: Any) -> Job:
    return Job(
        id=row[0],
        tenant=row[1],
        kind=JobKind(row[2]),
        status=JobStatus(row[3]),
        created_by=row[4],
        created_at=row[5],
        started_at=row[6],
        finished_at=row[7],
        request=json.loads(row[8]),
        report=json.loads(row[9]),
        error=row[10],
    )
