"""``kenning worker``: run ingestion jobs from the PostgreSQL queue (server shape)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from kenning.cli.context import err_console, state


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Tasks run at once (default: worker.concurrency)."
        ),
    ] = None,
) -> None:
    """Run ingestion tasks until stopped (SIGINT/SIGTERM finish the running ones first).

    Start as many as the machine has room for; each takes the next task from the queue.
    A worker that dies mid-task has the task retried by the others (docs/workers.md)."""
    from kenning.jobs import worker as worker_module

    comps = state(ctx).components
    worker_module.postgres_dsn(comps)  # refused at once on the embedded default
    worker_module.prepare(comps)
    n = concurrency or comps.settings.worker.concurrency
    metrics = worker_module.start_metrics(comps)
    where = f"; metrics on :{metrics.server_port}/metrics" if metrics else ""
    err_console.print(f"kenning worker: {n} at a time{where}; stop with Ctrl-C", highlight=False)
    try:
        asyncio.run(worker_module.run(comps, n, install_signal_handlers=True))
    finally:
        if metrics is not None:
            metrics.shutdown()
