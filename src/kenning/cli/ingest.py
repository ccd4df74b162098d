"""``kenning ingest``: files, folders and web pages into the index, with a progress bar and a
summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kenning.cli.context import console, fail, print_json, state
from kenning.errors import InvalidInputError
from kenning.pipelines.indexing import FileEvent, IngestReport
from kenning.pipelines.web_sync import WebSync, is_url
from kenning.types import DEFAULT_TENANT, Acl


def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files and folders (recursive), or http(s) URLs (a page and the pages it "
            "links to under the same folder)."
        ),
    ],
    tenant: Annotated[str, typer.Option(help="Tenant the documents belong to.")] = DEFAULT_TENANT,
    acl: Annotated[
        list[str] | None,
        typer.Option(
            help="Who may read: public (whole tenant), user:NAME, group:NAME. Repeatable."
        ),
    ] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Remove documents whose files vanished from the folders.")
    ] = False,
    max_pages: Annotated[
        int | None, typer.Option(help="URLs: most pages to fetch per URL.", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ingest documents: PDF, DOCX, PPTX, XLSX, HTML, Markdown, TXT, EML."""
    try:
        parsed_acl = Acl.parse(acl or [])
    except InvalidInputError as exc:
        fail(str(exc))
    urls = [p for p in paths if is_url(p)]
    files = [Path(p) for p in paths if not is_url(p)]
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    components = state(ctx).components
    with _progress(disable=as_json) as progress:
        task = progress.add_task("ingesting", total=None)

        def on_progress(event: FileEvent) -> None:
            progress.update(
                task,
                total=event.total,
                completed=event.done,
                description=Path(event.source).name[:40],
            )

        report = IngestReport()
        if files:
            report = components.indexer.ingest_paths(
                files, tenant=tenant, acl=parsed_acl, sync=sync, on_progress=on_progress
            )
        web = WebSync(components.indexer, components.settings)
        for url in urls:
            try:
                fetched = web.run(
                    url, tenant=tenant, acl=parsed_acl, max_pages=max_pages, on_progress=on_progress
                )
            except InvalidInputError as exc:
                fail(str(exc))
            report.merge(fetched)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_summary(report)
    if report.failed and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(2)


def _progress(*, disable: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
        transient=True,
    )


def _print_summary(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_header=False)
    for name in ("added", "updated", "unchanged", "deleted", "failed", "chunks"):
        table.add_row(name, str(getattr(report, name)))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    for error in report.errors:
        console.print(f"[red]failed[/] {error['source']}: {error['error']}", highlight=False)
