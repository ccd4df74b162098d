"""Run ingestion jobs in a background thread of the serving process.

One worker thread: ingestion is CPU-bound (embedding uses every core already), so more
threads would only contend. The request that creates a job returns at once with its id;
clients poll ``GET /v1/jobs/{id}``. Durable, multi-process workers are the server shape
(PostgreSQL), which replaces this runner behind the same job records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kenning.errors import KenningError
from kenning.jobs.repository import Job, JobRepository, outcome_error

log = logging.getLogger(__name__)

JobWork = Callable[[], Mapping[str, Any]]
"""The job's work: returns the report to store (an ingest report as a dict)."""
JobObserver = Callable[[Job, Mapping[str, Any], "str | None"], None]
"""Told of every finished job: its report and error (metrics count ingestion here)."""


class JobRunner:
    def __init__(self, repo: JobRepository, observer: JobObserver | None = None) -> None:
        self.repo = repo
        self.observer = observer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kenning-job")

    def submit(self, job: Job, work: JobWork) -> Future[None]:
        return self._pool.submit(self._run, job, work)

    def _run(self, job: Job, work: JobWork) -> None:
        self.repo.mark_running(job.id)
        try:
            report = work()
        except KenningError as exc:
            self._finish(job, {}, str(exc))
            return
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self._finish(job, {}, f"internal error: {type(exc).__name__}")
            return
        self._finish(job, report, outcome_error(report))

    def _finish(self, job: Job, report: Mapping[str, Any], error: str | None) -> None:
        self.repo.finish(job.id, report, error=error)
        if self.observer is not None:
            self.observer(job, report, error)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
