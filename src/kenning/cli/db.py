"""``kenning db``: the schema revision of the configured database, and upgrading it."""

from __future__ import annotations

from typing import Annotated

import typer

from kenning.cli.context import console, print_json, state
from kenning.db.engine import SqlDatabase
from kenning.db.migrations import current_revision, head_revision, upgrade

app = typer.Typer(help="Database schema: show the revision, upgrade it.", no_args_is_help=True)


def _database(ctx: typer.Context) -> SqlDatabase:
    # No warm-up: these commands must work on an outdated or empty database.
    return SqlDatabase(state(ctx).settings.database_url, auto_upgrade=False)


@app.command("current")
def current(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The database's schema revision and the one this Kenning needs."""
    db = _database(ctx)
    try:
        found, head = current_revision(db.engine), head_revision()
    finally:
        db.close()
    if as_json:
        print_json({"current": found, "head": head, "up_to_date": found == head})
    else:
        console.print(f"current: {found or 'none (empty database)'}  head: {head}")


@app.command("upgrade")
def upgrade_schema(ctx: typer.Context) -> None:
    """Apply pending migrations (safe to run concurrently: one process does the work)."""
    db = _database(ctx)
    try:
        before = current_revision(db.engine)
        after = upgrade(db.engine)
    finally:
        db.close()
    console.print(f"schema upgraded: {before or 'none'} → {after}")
