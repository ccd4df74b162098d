"""Tenants: created and listed by installation superusers only."""

from __future__ import annotations

from fastapi import APIRouter

from kenning.api.deps import ClientDep, ComponentsDep, Superuser
from kenning.api.schemas import TenantCreate, TenantOut, UserCreate, UserOut
from kenning.auth.models import Role

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.get("")
def list_tenants(caller: Superuser, comps: ComponentsDep) -> list[TenantOut]:
    return [TenantOut(id=i, name=n, created_at=c) for i, n, c in comps.auth.repo.list_tenants()]


@router.post("", status_code=201)
def create_tenant(
    body: TenantCreate, caller: Superuser, comps: ComponentsDep, client: ClientDep
) -> TenantOut:
    """A new, empty tenant; create its first admin with ``POST /v1/tenants/{id}/admins``
    or ``kenning users create --tenant``."""
    created_at = comps.auth.repo.create_tenant(body.id, body.name)
    comps.auth.repo.append_audit(
        caller.user.tenant, caller.user.username, "tenant.create", body.id, client=client
    )
    return TenantOut(id=body.id, name=body.name, created_at=created_at)


@router.post("/{tenant_id}/admins", status_code=201)
def create_tenant_admin(
    tenant_id: str, body: UserCreate, caller: Superuser, comps: ComponentsDep, client: ClientDep
) -> UserOut:
    """The first admin of a tenant (any later accounts are that admin's business)."""
    user = comps.auth.create_user(
        caller.user.username, tenant_id, body.username, body.password, Role.ADMIN, client=client
    )
    return UserOut(
        tenant=tenant_id,
        username=user.username,
        role=user.role,
        groups=[],
        superuser=False,
        active=True,
    )
