"""``kenning documents``: list and delete indexed documents."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kenning.cli.context import console, print_json, state
from kenning.types import DEFAULT_TENANT

app = typer.Typer(help="List and delete indexed documents.", no_args_is_help=True)


@app.command("list")
def list_documents(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant.")] = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List documents with their format and ACL."""
    docs = state(ctx).components.store.list_documents(tenant)
    if as_json:
        print_json(
            [
                {
                    "id": d.id,
                    "title": d.title,
                    "source": d.source,
                    "format": d.format,
                    "public": d.acl.public,
                    "users": sorted(d.acl.users),
                    "groups": sorted(d.acl.groups),
                }
                for d in docs
            ]
        )
        return
    table = Table("id", "title", "format", "access", "source")
    for d in docs:
        access = (
            "tenant"
            if d.acl.public
            else ", ".join(
                [f"user:{u}" for u in sorted(d.acl.users)]
                + [f"group:{g}" for g in sorted(d.acl.groups)]
            )
        )
        table.add_row(d.id, d.title[:40], d.format, access, d.source)
    console.print(table)
    stats = state(ctx).components.store.stats(tenant)
    console.print(f"{stats.documents} documents, {stats.chunks} chunks")


@app.command("delete")
def delete_documents(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(help="Document ids (see `kenning documents list`).")],
    tenant: Annotated[str, typer.Option(help="Tenant.")] = DEFAULT_TENANT,
) -> None:
    """Delete documents and all their chunks."""
    deleted = state(ctx).components.store.delete_documents(tenant, ids)
    console.print(f"deleted {deleted} of {len(ids)} documents")
    if deleted < len(ids):
        raise typer.Exit(1)
