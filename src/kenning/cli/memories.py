"""``kenning memories``: one user's long-term memories, on the operator's machine.

Like ``kenning users``, this runs against the data directory (or the configured
database) directly, for the user named with ``--user`` in ``--tenant``; users manage
their own memories through the API (``/v1/memories``) or the web UI.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kenning.cli.context import console, fail, print_json, state
from kenning.memory import Memory, MemorySource
from kenning.types import DEFAULT_TENANT

app = typer.Typer(help="A user's long-term memories: list, add, delete.", no_args_is_help=True)

User = Annotated[str, typer.Option("--user", "-u", help="Whose memories.")]
Tenant = Annotated[str, typer.Option(help="The user's tenant.")]


def memory_dict(memory: Memory) -> dict[str, object]:
    return {
        "id": memory.id,
        "text": memory.text,
        "source": memory.source.value,
        "created_at": memory.created_at,
    }


@app.command("list")
def list_memories(
    ctx: typer.Context,
    user: User,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What Kenning remembers about the user, newest first."""
    found = state(ctx).components.memories.list_for(tenant, user)
    if as_json:
        print_json([memory_dict(m) for m in found])
        return
    table = Table("id", "source", "created", "text")
    for m in found:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.created_at))
        table.add_row(m.id, m.source.value, created, escape(m.text))
    console.print(table)


@app.command("add")
def add_memory(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The fact or preference to keep.")],
    user: User,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Keep a fact for the user (a near-identical memory is replaced)."""
    memory = state(ctx).components.memories.add(tenant, user, text, MemorySource.EXPLICIT)
    if as_json:
        print_json(memory_dict(memory))
    else:
        console.print(f"remembered {memory.id}: {escape(memory.text)}", highlight=False)


@app.command("delete")
def delete_memory(
    ctx: typer.Context,
    user: User,
    memory_id: Annotated[str | None, typer.Argument(help="The memory's id.")] = None,
    tenant: Tenant = DEFAULT_TENANT,
    all_: Annotated[bool, typer.Option("--all", help="Delete all the user's memories.")] = False,
) -> None:
    """Delete one memory by id, or ``--all`` of the user's memories."""
    repo = state(ctx).components.memories
    if all_ == (memory_id is not None):
        fail("give a memory id or --all (not both)")
    if memory_id is not None:
        repo.delete(tenant, user, memory_id)
        console.print(f"deleted {memory_id}")
        return
    console.print(f"deleted {repo.delete_all(tenant, user)} memories of {user}")
