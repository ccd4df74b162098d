"""``kenning worker``: a procrastinate worker process, and recovery of stalled jobs.

A worker registers in ``procrastinate_workers`` and refreshes its heartbeat every
``worker.heartbeat_s``. One killed with SIGKILL leaves its tasks in ``doing`` and its
heartbeat ageing; once it is older than ``worker.stalled_after_s``, any live worker
puts those tasks back in the queue (procrastinate's ``get_stalled_jobs`` +
``retry_job``), at start and every ``worker.recover_every_s``. A task that has already
taken down ``worker.max_attempts`` workers (a file that exhausts memory, say) is failed
instead, with a message on its job. The tasks are idempotent (``kenning.jobs.tasks``),
so a retry finishes the work without duplicating any chunk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kenning.errors import ConfigurationError
from kenning.jobs.queue import PART_TASK, make_app

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    import procrastinate

    from kenning.wiring import Components

log = logging.getLogger(__name__)


def postgres_dsn(comps: Components) -> str:
    """The libpq DSN of the service database, which must be PostgreSQL."""
    url = comps.settings.database_url
    if not url.startswith("postgresql"):
        raise ConfigurationError(
            "kenning worker needs the service database on PostgreSQL (KENNING_DATABASE__URL);"
            " the embedded default runs jobs inside `kenning serve`"
        )
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if "+" in scheme else url


def start_metrics(comps: Components) -> WSGIServer | None:
    """Serve this worker's ``/metrics`` on ``worker.metrics_port`` (None if metrics are off)."""
    from kenning.observability.exporter import serve_metrics

    settings = comps.settings
    if not settings.observability.metrics_enabled:
        return None
    token = settings.observability.metrics_token
    return serve_metrics(
        comps.metrics,
        settings.worker.metrics_host,
        settings.worker.metrics_port,
        token.get_secret_value() if token is not None else None,
    )


def prepare(comps: Components) -> None:
    """Open everything before taking work: the schema check (a worker refuses an
    unmigrated database), the store and the model; tasks then share them."""
    comps.db.warm_up()
    comps.indexer.embedder.warm_up()


async def run(comps: Components, concurrency: int, *, install_signal_handlers: bool) -> None:
    """Work until cancelled (or SIGINT/SIGTERM with the handlers installed)."""
    settings = comps.settings.worker
    app = make_app(postgres_dsn(comps))
    async with app.open_async():
        await recover_stalled(app, comps)
        recovery = asyncio.create_task(_recover_periodically(app, comps))
        try:
            await app.run_worker_async(
                name=f"kenning@{socket.gethostname()}:{os.getpid()}",
                concurrency=concurrency,
                additional_context={"components": comps},
                update_heartbeat_interval=settings.heartbeat_s,
                stalled_worker_timeout=settings.stalled_after_s,
                fetch_job_polling_interval=settings.poll_s,
                delete_jobs="successful",
                install_signal_handlers=install_signal_handlers,
            )
        finally:
            recovery.cancel()


async def _recover_periodically(app: procrastinate.App, comps: Components) -> None:
    while True:
        await asyncio.sleep(comps.settings.worker.recover_every_s)
        try:
            await recover_stalled(app, comps)
        except Exception:  # a database hiccup must not stop the worker
            log.exception("stalled-job recovery failed; trying again later")


async def recover_stalled(app: procrastinate.App, comps: Components) -> int:
    """Requeue the tasks of workers whose heartbeat stopped; returns how many."""
    from procrastinate.exceptions import ConnectorException
    from procrastinate.jobs import Status

    settings = comps.settings.worker
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.stalled_after_s
    )
    retried = 0
    for job in stalled:
        try:
            if job.attempts + 1 >= settings.max_attempts:
                await asyncio.to_thread(_give_up, comps, job.task_name, job.task_kwargs)
                await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
                continue
            await app.job_manager.retry_job(job)
            retried += 1
            log.warning("requeued task %s of a stalled worker", job.id)
        except ConnectorException:  # another worker recovered it first
            log.debug("task %s was recovered elsewhere", job.id)
    return retried


def _give_up(comps: Components, task: str, kwargs: Mapping[str, object]) -> None:
    message = "a worker died each time it ran this job; see the worker logs"
    job_id = str(kwargs["job_id"])
    if task == PART_TASK:
        finished = comps.jobs.finish_part(job_id, int(str(kwargs["part"])), {}, error=message)
        comps.metrics.observe_ingest_part(message)
        if finished:
            done = comps.jobs.get_any(job_id)
            comps.observe_job(done, done.report, done.error)
    else:
        comps.jobs.finish(job_id, {}, error=message)
        comps.observe_job(comps.jobs.get_any(job_id), {}, message)
