"""Job records: what was asked, by whom, its status and its ingest report.

A job row is written before any work starts, so status is visible at once. Embedded
(in-process runner): a job that was running when its process died is marked failed on
the next start (the ingest itself is crash-safe, and re-running the same request
finishes the work). Server shape (procrastinate workers): a job may fan out into
*parts* (batches of files, ``job_parts``) that workers ingest in parallel; each part
records its own report, and the part that completes the set finishes the job with the
aggregated report, under the job row's lock, exactly once even when parts are retried.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kenning.db.engine import Sql, SqlDatabase
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
    parts_total: int | None = None
    """How many parts the job fanned out into (None: not planned, or not split)."""
    parts_done: int = 0


_COLUMNS = (
    "id, tenant, kind, status, created_by, created_at, started_at, finished_at, request,"
    " report, error, parts_total, parts_done"
)
_COUNTS = ("added", "updated", "unchanged", "deleted", "failed", "chunks", "embedded_texts")
_TIMES = ("embed_seconds",)


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
                "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?)"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (time.time(), job_id),
            )

    def finish(self, job_id: str, report: Mapping[str, Any], error: str | None = None) -> None:
        status = JobStatus.FAILED if error else JobStatus.DONE
        with self.db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, report = ?, error = ? WHERE id = ?",
                (status.value, time.time(), json.dumps(report), error, job_id),
            )

    # -- parts (server shape) ----------------------------------------------------------

    def plan_parts(
        self, job_id: str, parts: Sequence[Sequence[Mapping[str, Any]]], report: Mapping[str, Any]
    ) -> bool:
        """Record the job's parts (the files of each) and the planning step's own report
        (deletions of vanished files). Idempotent: a retried plan keeps the first one;
        returns whether this call recorded it. No parts: the job is finished at once."""
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET parts_total = ?, report = ? WHERE id = ? AND parts_total IS NULL",
                (len(parts), json.dumps(report), job_id),
            )
            if cursor.rowcount == 0:
                return False
            for number, files in enumerate(parts):
                conn.execute(
                    "INSERT INTO job_parts (job_id, part, files) VALUES (?, ?, ?)",
                    (job_id, number, json.dumps(list(files))),
                )
            if not parts:
                self._finish_from_parts(conn, job_id)
        return True

    def open_parts(self, job_id: str) -> list[int]:
        rows = self.db.fetchall(
            "SELECT part FROM job_parts WHERE job_id = ? AND status = 'queued' ORDER BY part",
            (job_id,),
        )
        return [int(r[0]) for r in rows]

    def part_files(self, job_id: str, part: int) -> list[dict[str, Any]] | None:
        """The files of a part still to do; None once it is done (a retried task)."""
        row = self.db.fetchone(
            "SELECT files FROM job_parts WHERE job_id = ? AND part = ? AND status = 'queued'",
            (job_id, part),
        )
        return None if row is None else list(json.loads(row[0]))

    def finish_part(
        self,
        job_id: str,
        part: int,
        report: Mapping[str, Any],
        error: str | None = None,
        worker: str | None = None,
    ) -> bool:
        """Record a part's outcome; the part completing the set finishes the job.

        ``UPDATE jobs ... parts_done + 1`` takes the job row's lock, so parts finishing at
        the same moment count one after the other and exactly one sees the last count; a
        part already recorded (its task retried after a crash) counts nothing. Returns
        whether this call finished the job. ``worker`` names who did it (for operators)."""
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE job_parts SET status = ?, report = ?, error = ?, worker = ?"
                " WHERE job_id = ? AND part = ? AND status = 'queued'",
                ("failed" if error else "done", json.dumps(report), error, worker, job_id, part),
            )
            if cursor.rowcount == 0:
                return False
            done, total = tuple(
                conn.execute(
                    "UPDATE jobs SET parts_done = parts_done + 1 WHERE id = ?"
                    " RETURNING parts_done, parts_total",
                    (job_id,),
                ).one()
            )
            if done != total:
                return False
            self._finish_from_parts(conn, job_id)
        return True

    @staticmethod
    def _finish_from_parts(conn: Sql, job_id: str) -> None:
        planned, started_at = tuple(
            conn.execute("SELECT report, started_at FROM jobs WHERE id = ?", (job_id,)).one()
        )
        rows = [
            tuple(r)
            for r in conn.execute(
                "SELECT report, error FROM job_parts WHERE job_id = ? ORDER BY part", (job_id,)
            )
        ]
        report = merge_reports([json.loads(planned), *(json.loads(r[0]) for r in rows)])
        now = time.time()
        report["seconds"] = now - (started_at or now)
        errors = [r[1] for r in rows if r[1]]
        error = (
            f"{len(errors)} of {len(rows)} parts failed: {errors[0]}"
            if errors
            else outcome_error(report)
        )
        conn.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, report = ?, error = ? WHERE id = ?",
            (
                (JobStatus.FAILED if error else JobStatus.DONE).value,
                now,
                json.dumps(report),
                error,
                job_id,
            ),
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

    def parts(self, job_id: str) -> list[dict[str, Any]]:
        """Each part's status, worker, error and report (``kenning jobs show``)."""
        rows = self.db.fetchall(
            "SELECT part, status, worker, error, report FROM job_parts WHERE job_id = ?"
            " ORDER BY part",
            (job_id,),
        )
        return [
            {
                "part": r[0],
                "status": r[1],
                "worker": r[2],
                "error": r[3],
                "report": json.loads(r[4]),
            }
            for r in rows
        ]

    def get_any(self, job_id: str) -> Job:
        """A job of any tenant (the operator's CLI)."""
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return _job(row)

    def list_for(self, tenant: str | None, limit: int = 50) -> list[Job]:
        """The newest jobs of ``tenant`` (of every tenant when None: the operator's CLI)."""
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC LIMIT ?",
            (*params, limit),
        )
        return [_job(r) for r in rows]


def merge_reports(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One ingest report from the reports of a job's parts (counts and errors add up)."""
    merged: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    merged.update(dict.fromkeys(_TIMES, 0.0))
    merged["errors"] = []
    for report in reports:
        for name in (*_COUNTS, *_TIMES):
            merged[name] += report.get(name, 0)
        merged["errors"].extend(report.get("errors", []))
    return merged


def outcome_error(report: Mapping[str, Any]) -> str | None:
    """A job fails when files were given and every one failed (the report says why)."""
    succeeded = sum(int(report.get(k, 0)) for k in ("added", "updated", "unchanged"))
    return "every file failed; see the report" if report.get("failed") and not succeeded else None


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
        parts_total=row[11],
        parts_done=row[12],
    )
