"""``kenning jobs``: ingestion jobs and their reports, as the API shows them."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from kenning.cli.context import console, print_json, state
from kenning.jobs import Job

app = typer.Typer(help="Ingestion jobs: list them, show one.", no_args_is_help=True)


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "tenant": job.tenant,
        "kind": job.kind.value,
        "status": job.status.value,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "parts_total": job.parts_total,
        "parts_done": job.parts_done,
        "request": dict(job.request),
        "report": dict(job.report),
        "error": job.error,
    }


def _progress(job: Job) -> str:
    return "" if job.parts_total is None else f"{job.parts_done}/{job.parts_total}"


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest N jobs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The newest jobs, with status, progress (parts done) and outcome."""
    jobs = state(ctx).components.jobs.list_for(tenant, limit)
    if as_json:
        print_json([job_dict(j) for j in jobs])
        return
    table = Table("id", "tenant", "kind", "status", "parts", "created", "outcome")
    for j in jobs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_at))
        table.add_row(
            j.id,
            j.tenant,
            j.kind.value,
            j.status.value,
            _progress(j),
            created,
            j.error or _summary(j.report),
        )
    console.print(table)


def _summary(report: dict[str, Any] | Any) -> str:
    keys = ("added", "updated", "unchanged", "deleted", "failed", "chunks")
    return ", ".join(f"{k} {report[k]}" for k in keys if report.get(k))


@app.command("show")
def show_job(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="Job id (see `kenning jobs list`).")],
) -> None:
    """One job as JSON: request, status, progress, its ingest report, and its parts
    (which worker ingested which files) when it was split."""
    repo = state(ctx).components.jobs
    print_json({**job_dict(repo.get_any(job_id)), "parts": repo.parts(job_id)})
