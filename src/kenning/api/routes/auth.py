"""Login, token refresh and logout."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kenning.api.deps import AnyCaller, ClientDep, ComponentsDep
from kenning.api.schemas import LoginRequest, RefreshRequest, TokenResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login")
def login(body: LoginRequest, comps: ComponentsDep, client: ClientDep) -> TokenResponse:
    """Exchange a user name and password for an access token and a refresh token."""
    comps.rate_limiter.hit_login(client, f"{body.tenant}/{body.username}")
    pair = comps.auth.login(body.tenant, body.username, body.password, client=client)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post("/refresh")
def refresh(body: RefreshRequest, comps: ComponentsDep, client: ClientDep) -> TokenResponse:
    """A new token pair for a refresh token, which is used up (rotation)."""
    comps.rate_limiter.hit_login(client, "refresh")
    pair = comps.auth.refresh(body.refresh_token)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post("/logout", status_code=204)
def logout(caller: AnyCaller, comps: ComponentsDep) -> Response:
    """Revoke every refresh token of the caller (access tokens expire on their own)."""
    comps.auth.logout(caller)
    return Response(status_code=204)
