"""Users, groups, API keys and the audit log of the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kenning.api.deps import Admin, AnyCaller, ClientDep, ComponentsDep
from kenning.api.schemas import (
    NAME,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditOut,
    GroupCreate,
    GroupOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from kenning.auth.models import ApiKey, Caller, Permission, User
from kenning.errors import NotFoundError, PermissionDeniedError
from kenning.wiring import Components

router = APIRouter(prefix="/v1", tags=["accounts"])
NameParam = Annotated[str, Query(pattern=NAME)]


def _user_out(user: User) -> UserOut:
    return UserOut(
        tenant=user.tenant,
        username=user.username,
        role=user.role,
        groups=sorted(user.groups),
        superuser=user.superuser,
        active=user.active,
    )


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        username=key.username,
        name=key.name,
        scopes=sorted(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


# -- users ---------------------------------------------------------------------------


@router.get("/users/me")
def me(caller: AnyCaller) -> UserOut:
    """Who the credentials belong to."""
    return _user_out(caller.user)


@router.get("/users")
def list_users(caller: Admin, comps: ComponentsDep) -> list[UserOut]:
    return [_user_out(u) for u in comps.auth.repo.list_users(caller.user.tenant)]


@router.post("/users", status_code=201)
def create_user(
    body: UserCreate, caller: Admin, comps: ComponentsDep, client: ClientDep
) -> UserOut:
    tenant = caller.user.tenant
    comps.auth.create_user(
        caller.user.username, tenant, body.username, body.password, body.role, client=client
    )
    for group in body.groups:
        comps.auth.repo.set_membership(tenant, group, body.username, True)
    found = comps.auth.repo.get_user(tenant, body.username)
    if found is None:  # deleted concurrently
        raise NotFoundError(f"no user {body.username!r}")
    return _user_out(found[0])


@router.get("/users/{username}")
def get_user(username: str, caller: Admin, comps: ComponentsDep) -> UserOut:
    found = comps.auth.repo.get_user(caller.user.tenant, username)
    if found is None:
        raise NotFoundError(f"no user {username!r}")
    return _user_out(found[0])


@router.patch("/users/{username}")
def update_user(
    username: str, body: UserUpdate, caller: Admin, comps: ComponentsDep, client: ClientDep
) -> UserOut:
    tenant = caller.user.tenant
    if username == caller.user.username and (
        body.role not in (None, caller.user.role) or body.active is False
    ):
        raise PermissionDeniedError("admins cannot demote or deactivate themselves")
    comps.auth.update_user(
        caller.user.username,
        tenant,
        username,
        role=body.role,
        active=body.active,
        password=body.password,
        client=client,
    )
    return get_user(username, caller, comps)


@router.delete("/users/{username}", status_code=204)
def delete_user(username: str, caller: Admin, comps: ComponentsDep, client: ClientDep) -> Response:
    if username == caller.user.username:
        raise PermissionDeniedError("admins cannot delete themselves")
    comps.auth.delete_user(caller.user.username, caller.user.tenant, username, client=client)
    return Response(status_code=204)


# -- groups --------------------------------------------------------------------------


@router.get("/groups")
def list_groups(caller: Admin, comps: ComponentsDep) -> list[GroupOut]:
    groups = comps.auth.repo.list_groups(caller.user.tenant)
    return [GroupOut(name=n, members=m) for n, m in groups.items()]


@router.post("/groups", status_code=201)
def create_group(
    body: GroupCreate, caller: Admin, comps: ComponentsDep, client: ClientDep
) -> GroupOut:
    comps.auth.repo.create_group(caller.user.tenant, body.name)
    comps.auth.repo.append_audit(
        caller.user.tenant, caller.user.username, "group.create", body.name, client=client
    )
    return GroupOut(name=body.name, members=[])


@router.delete("/groups/{name}", status_code=204)
def delete_group(name: str, caller: Admin, comps: ComponentsDep, client: ClientDep) -> Response:
    comps.auth.repo.delete_group(caller.user.tenant, name)
    comps.auth.repo.append_audit(
        caller.user.tenant, caller.user.username, "group.delete", name, client=client
    )
    return Response(status_code=204)


def _set_membership(
    comps: Components, caller: Caller, group: str, username: str, member: bool, client: str
) -> Response:
    comps.auth.repo.set_membership(caller.user.tenant, group, username, member)
    action = "group.add_member" if member else "group.remove_member"
    comps.auth.repo.append_audit(
        caller.user.tenant, caller.user.username, action, group, {"username": username}, client
    )
    return Response(status_code=204)


@router.put("/groups/{name}/members/{username}", status_code=204)
def add_member(
    name: str, username: str, caller: Admin, comps: ComponentsDep, client: ClientDep
) -> Response:
    return _set_membership(comps, caller, name, username, True, client)


@router.delete("/groups/{name}/members/{username}", status_code=204)
def remove_member(
    name: str, username: str, caller: Admin, comps: ComponentsDep, client: ClientDep
) -> Response:
    return _set_membership(comps, caller, name, username, False, client)


# -- API keys ------------------------------------------------------------------------


@router.get("/api-keys")
def list_keys(
    caller: AnyCaller, comps: ComponentsDep, username: NameParam | None = None
) -> list[ApiKeyOut]:
    """The caller's keys; admins may list anyone's (``username``) or all (``*`` omitted)."""
    if caller.can(Permission.ADMIN):
        keys = comps.auth.repo.list_keys(caller.user.tenant, username)
    else:
        keys = comps.auth.repo.list_keys(caller.user.tenant, caller.user.username)
    return [_key_out(k) for k in keys]


@router.post("/api-keys", status_code=201)
def create_key(
    body: ApiKeyCreate, caller: AnyCaller, comps: ComponentsDep, client: ClientDep
) -> ApiKeyCreated:
    """A new API key, returned once. Scopes beyond the owner's role have no effect."""
    owner = body.username or caller.user.username
    if owner != caller.user.username and not caller.can(Permission.ADMIN):
        raise PermissionDeniedError("only admins may create keys for other users")
    if not set(body.scopes) <= caller.permissions:
        raise PermissionDeniedError("a key cannot carry scopes its creator does not have")
    key, full = comps.auth.create_key(
        caller.user.username,
        caller.user.tenant,
        owner,
        name=body.name,
        scopes=frozenset(body.scopes),
        days=body.days,
        client=client,
    )
    return ApiKeyCreated(**_key_out(key).model_dump(), key=full)


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_key(key_id: str, caller: AnyCaller, comps: ComponentsDep, client: ClientDep) -> Response:
    comps.auth.revoke_key(caller, key_id, client=client)
    return Response(status_code=204)


# -- audit ---------------------------------------------------------------------------


@router.get("/audit")
def audit(
    caller: Admin,
    comps: ComponentsDep,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> list[AuditOut]:
    """Append-only record of logins, key changes, uploads, deletes and ACL changes."""
    events = comps.auth.repo.audit_events(
        caller.user.tenant, after_id=after_id, limit=limit, actions=action or ()
    )
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            detail=e.detail,
            client=e.client,
        )
        for e in events
    ]
