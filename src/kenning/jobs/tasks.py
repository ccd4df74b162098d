"""The procrastinate tasks a ``kenning worker`` runs. Arguments are ids only: the job
record says what to do, so a task deferred by any API replica runs on any worker.

Every task may run more than once (a worker killed mid-task has its task retried), so
each one is idempotent: a finished job or part is skipped, a plan is recorded once, and
ingestion skips files whose content hash is already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kenning.errors import KenningError
from kenning.jobs.repository import JobStatus, outcome_error
from kenning.jobs.work import ingest_part as ingest_files_of_part
from kenning.jobs.work import inline_work, plan, splits

if TYPE_CHECKING:
    from procrastinate import JobContext

    from kenning.wiring import Components

log = logging.getLogger(__name__)


def components(context: JobContext) -> Components:
    comps: Components = context.additional_context["components"]
    return comps


def run_job(context: JobContext, job_id: str) -> None:
    """A URL sync whole; an upload or folder sync planned into parts, one task each."""
    from kenning.jobs.queue import PART_TASK, defer

    comps = components(context)
    job = comps.jobs.get_any(job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return
    comps.jobs.mark_running(job.id)
    error = _guarded(lambda: _run(comps, job_id))
    if error is not None:
        comps.jobs.finish(job.id, {}, error=error)
        comps.observe_job(job, {}, error)
        return
    assert context.app is not None
    for part in comps.jobs.open_parts(job.id):
        defer(context.app, PART_TASK, f"job:{job.id}:{part}", job_id=job.id, part=part)


def _run(comps: Components, job_id: str) -> None:
    job = comps.jobs.get_any(job_id)
    if not splits(job, comps):
        report = inline_work(comps, job)()
        comps.jobs.finish(job.id, report, error=outcome_error(report))
        comps.observe_job(job, report, outcome_error(report))
        return
    if job.parts_total is None:  # a retried plan keeps the first one
        parts, report = plan(comps, job, comps.settings.worker.files_per_part)
        comps.jobs.plan_parts(job.id, parts, report)


def ingest_part(context: JobContext, job_id: str, part: int) -> None:
    comps = components(context)
    files = comps.jobs.part_files(job_id, part)
    if files is None:  # already recorded: this is a retried copy
        return
    job = comps.jobs.get_any(job_id)
    report: dict[str, Any] = {}

    def work() -> None:
        report.update(ingest_files_of_part(comps, job, files))

    error = _guarded(work)
    finished = comps.jobs.finish_part(job_id, part, report, error=error, worker=context.worker_name)
    comps.metrics.observe_ingest_part(error)
    if finished:
        done = comps.jobs.get_any(job_id)
        comps.observe_job(done, done.report, done.error)


def _guarded(work: Callable[[], None]) -> str | None:
    """Run ``work``; an error becomes the job's message (internal ones only by type:
    their text may hold data that must not reach users)."""
    try:
        work()
    except KenningError as exc:
        return str(exc)
    except Exception as exc:
        log.exception("job work failed")
        return f"internal error: {type(exc).__name__}"
    return None
