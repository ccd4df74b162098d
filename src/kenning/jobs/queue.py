"""Where a new job goes: the in-process runner (embedded) or procrastinate (server).

The embedded default (SQLite) runs jobs on one thread of the serving process. With the
service database on PostgreSQL, a job is deferred as a procrastinate task in the same
database and ``kenning worker`` processes run it (``kenning.jobs.worker``); the ``jobs``
table stays the user-visible record either way. Why procrastinate: docs/workers.md.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from kenning.errors import KenningError
from kenning.jobs.repository import Job, JobRepository
from kenning.jobs.runner import JobRunner
from kenning.jobs.work import inline_work

if TYPE_CHECKING:
    import procrastinate

    from kenning.wiring import Components

log = logging.getLogger(__name__)

RUN_TASK = "kenning.run_job"
"""Runs a whole job, or plans its parts and defers one ``PART_TASK`` per part."""
PART_TASK = "kenning.ingest_part"


class JobQueue(Protocol):
    local: bool
    """Jobs run inside this process, so a restart interrupts them (they are marked
    failed at start-up); False when workers elsewhere own them."""

    def enqueue(self, job: Job) -> None:
        """Start the job's work (asynchronously); its record says what to do."""
        ...

    def close(self) -> None: ...


class InProcessQueue:
    """The embedded default: one background thread of this process."""

    local = True

    def __init__(self, comps: Components) -> None:
        self.comps = comps
        self.runner = JobRunner(comps.jobs, observer=comps.observe_job)

    def enqueue(self, job: Job) -> None:
        self.runner.submit(job, inline_work(self.comps, job))

    def close(self) -> None:
        self.runner.close()


class ProcrastinateQueue:
    """Defers jobs as procrastinate tasks; ``kenning worker`` processes run them."""

    local = False

    def __init__(self, dsn: str, repo: JobRepository) -> None:
        self.repo = repo
        self.app = make_app(dsn)
        self._open = False
        self._lock = threading.Lock()  # requests run on a thread pool

    def enqueue(self, job: Job) -> None:
        with self._lock:
            if not self._open:
                self.app.open()
                self._open = True
        try:
            defer(self.app, RUN_TASK, f"job:{job.id}", job_id=job.id)
        except Exception as exc:  # the job must not stay "queued" with nothing queued
            log.exception("cannot queue job %s", job.id)
            self.repo.finish(job.id, {}, error=f"could not be queued: {type(exc).__name__}")
            raise KenningError("the job could not be queued; try again") from exc

    def close(self) -> None:
        with self._lock:
            if self._open:
                self.app.close()
                self._open = False


def make_app(dsn: str) -> procrastinate.App:
    """A procrastinate app on ``dsn`` with Kenning's two tasks registered. The tasks
    find the worker's components in the job context (``additional_context``)."""
    try:
        import procrastinate
    except ImportError as exc:
        from kenning.errors import ConfigurationError

        raise ConfigurationError(
            "jobs on PostgreSQL need procrastinate: pip install 'kenning[postgres]'"
        ) from exc
    from kenning.jobs import tasks

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    app.task(name=RUN_TASK, pass_context=True)(tasks.run_job)
    app.task(name=PART_TASK, pass_context=True)(tasks.ingest_part)
    return app


def defer(app: procrastinate.App, task: str, key: str, **kwargs: Any) -> None:
    """Defer ``task`` once: ``queueing_lock`` keeps a second copy out of the queue while
    one waits, and ``lock`` keeps two copies (a retried one) from running at once."""
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        app.configure_task(task, queueing_lock=key, lock=key).defer(**kwargs)
    except AlreadyEnqueued:
        log.debug("%s is already queued", key)
