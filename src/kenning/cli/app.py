"""The ``kenning`` command: global options here, one module per command group."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from kenning.cli import (
    accounts,
    agent,
    ask,
    backup,
    db,
    documents,
    ingest,
    jobs,
    mcp,
    memories,
    report,
    search,
    serve,
    worker,
)
from kenning.cli.context import CliState, fail
from kenning.errors import KenningError
from kenning.settings import Settings

app = typer.Typer(
    name="kenning",
    help="Kenning: answers grounded in your documents, with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="KENNING_DATA_DIR",
            help="Where Kenning keeps its state (default: per-user data dir).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    ctx.obj = CliState(settings)
    ctx.call_on_close(ctx.obj.close)


app.command("ingest")(ingest.ingest)
app.command("search")(search.search)
app.command("ask")(ask.ask)
app.add_typer(documents.app, name="documents")
app.command("serve")(serve.serve)
app.add_typer(accounts.users, name="users")
app.add_typer(accounts.keys, name="keys")
app.add_typer(accounts.tenants, name="tenants")
app.add_typer(db.app, name="db")
app.command("report")(report.report)
app.command("worker")(worker.worker)
app.add_typer(jobs.app, name="jobs")
app.add_typer(mcp.app, name="mcp")
app.add_typer(agent.app, name="agent")
app.add_typer(memories.app, name="memories")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def _register_optional_groups() -> None:
    from kenning.cli import eval as eval_cli

    app.add_typer(eval_cli.app, name="eval")


_register_optional_groups()


def main() -> None:
    try:
        app()
    except KenningError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
