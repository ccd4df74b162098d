"""``kenning users`` / ``kenning keys`` / ``kenning tenants``: bootstrap accounts locally.

These run against the data directory directly (the operator's own machine), which is how
the first admin comes to exist; afterwards admins manage accounts through the API.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kenning.auth.models import Permission, Role
from kenning.cli.context import console, print_json, state
from kenning.types import DEFAULT_TENANT

users = typer.Typer(help="Create and list users.", no_args_is_help=True)
keys = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
tenants = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
CLI_ACTOR = "cli"


@users.command("create")
def create_user(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[Role, typer.Option(help="admin, editor or viewer.")] = Role.VIEWER,
    tenant: Annotated[str, typer.Option(help="Tenant (created if missing).")] = DEFAULT_TENANT,
    superuser: Annotated[bool, typer.Option(help="May manage tenants.")] = False,
    group: Annotated[list[str] | None, typer.Option(help="Add to this group (repeatable).")] = None,
    password_env: Annotated[
        str, typer.Option(help="Read the password from this environment variable.")
    ] = "KENNING_PASSWORD",  # noqa: S107 - a variable name, not a password
) -> None:
    """Create a user; the password comes from $KENNING_PASSWORD or a prompt."""
    password = os.environ.get(password_env) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    comps = state(ctx).components
    comps.auth.repo.ensure_tenant(tenant)
    comps.auth.create_user(CLI_ACTOR, tenant, username, password, role, superuser=superuser)
    for name in group or []:
        if name not in comps.auth.repo.list_groups(tenant):
            comps.auth.repo.create_group(tenant, name)
        comps.auth.repo.set_membership(tenant, name, username, True)
    console.print(f"created {role.value} [bold]{username}[/] in tenant {tenant}")


@users.command("list")
def list_users(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant.")] = DEFAULT_TENANT,
) -> None:
    comps = state(ctx).components
    print_json(
        [
            {
                "username": u.username,
                "role": u.role.value,
                "groups": sorted(u.groups),
                "active": u.active,
                "superuser": u.superuser,
            }
            for u in comps.auth.repo.list_users(tenant)
        ]
    )


@keys.command("create")
def create_key(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Owner of the key.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    scope: Annotated[list[Permission] | None, typer.Option(help="read, write, admin.")] = None,
    days: Annotated[int, typer.Option(help="Days until it expires.")] = 90,
    tenant: Annotated[str, typer.Option(help="Tenant.")] = DEFAULT_TENANT,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    comps = state(ctx).components
    scopes = frozenset(scope or [Permission.READ])
    key, full = comps.auth.create_key(
        CLI_ACTOR, tenant, username, name=name, scopes=scopes, days=days
    )
    print_json({"id": key.id, "key": full, "scopes": sorted(scopes), "expires_at": key.expires_at})


@keys.command("revoke")
def revoke_key(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (the part after kn_).")],
    tenant: Annotated[str, typer.Option(help="Tenant.")] = DEFAULT_TENANT,
) -> None:
    comps = state(ctx).components
    comps.auth.repo.revoke_key(tenant, key_id)
    comps.auth.repo.append_audit(tenant, CLI_ACTOR, "api_key.revoke", "", {"key_id": key_id})
    console.print(f"revoked {key_id}")


@tenants.command("create")
def create_tenant(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="Tenant id.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    comps = state(ctx).components
    comps.auth.repo.create_tenant(tenant_id, name or tenant_id)
    comps.auth.repo.append_audit(tenant_id, CLI_ACTOR, "tenant.create", tenant_id)
    console.print(f"created tenant {tenant_id}")
