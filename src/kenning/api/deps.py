"""Dependency aliases, so a route's signature reads like a sentence.

``Reader``, ``Editor`` and ``Admin`` authenticate the request (bearer access token or
API key), check the permission, and count the request against the caller's rate limit;
a route that takes none of them is public (health, login, refresh).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kenning.auth.models import Caller, Permission
from kenning.errors import AuthenticationError, PermissionDeniedError
from kenning.wiring import Components

_bearer = HTTPBearer(auto_error=False, description="An access token or an API key (kn_…)")


def components(request: Request) -> Components:
    found: Components = request.app.state.components
    return found


ComponentsDep = Annotated[Components, Depends(components)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


ClientDep = Annotated[str, Depends(client_address)]


def authenticated(
    comps: ComponentsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer credentials")
    caller = comps.auth.authenticate(credentials.credentials)
    comps.rate_limiter.hit(caller.rate_key)
    return caller


def _requires(permission: Permission) -> Callable[[Caller], Caller]:
    def check(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if not caller.can(permission):
            raise PermissionDeniedError(f"this needs the {permission.value} permission")
        return caller

    return check


Reader = Annotated[Caller, Depends(_requires(Permission.READ))]
Editor = Annotated[Caller, Depends(_requires(Permission.WRITE))]
Admin = Annotated[Caller, Depends(_requires(Permission.ADMIN))]
AnyCaller = Annotated[Caller, Depends(authenticated)]


def superuser(caller: AnyCaller) -> Caller:
    if not caller.user.superuser or not caller.can(Permission.ADMIN):
        raise PermissionDeniedError("only an installation superuser may manage tenants")
    return caller


Superuser = Annotated[Caller, Depends(superuser)]
