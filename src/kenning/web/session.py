"""The browser's session: the refresh token in an HttpOnly cookie, the access token in
the page's memory only.

Why not hand the browser both tokens as the API does: a script injected into the page
could read anything in storage or in a response body. Here the long-lived refresh token
never reaches JavaScript (HttpOnly, ``SameSite=Strict``, scoped to ``/web/session``), and
the short-lived access token lives in a module variable and is sent as a bearer header,
so the rest of the API is immune to CSRF by construction (browsers never attach it on
their own). The three routes that do use the cookie require a custom header, which a
cross-site form cannot send and a cross-site ``fetch`` cannot send without a CORS
preflight that this server does not grant.

The refresh token rotates on every use, exactly like ``POST /v1/auth/refresh``; logout
revokes every refresh token of the user and clears the cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from kenning.api.deps import AnyCaller, ClientDep, ComponentsDep
from kenning.api.schemas import LoginRequest
from kenning.auth.service import TokenPair
from kenning.errors import AuthenticationError, PermissionDeniedError

COOKIE = "kenning_refresh"
PATH = "/web/session"
CSRF_HEADER = "x-kenning-csrf"

# Not in the OpenAPI document: this is the web page's own plumbing, not API surface
# (programs use /v1/auth/*). tests/api/test_web_session.py covers it.
router = APIRouter(prefix=PATH, tags=["web"], include_in_schema=False)


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


def same_origin_request(request: Request) -> None:
    """Refuse requests a cross-site page could have made on the user's behalf."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise PermissionDeniedError(f"the web session needs the {CSRF_HEADER} header")


SameOrigin = Annotated[None, Depends(same_origin_request)]


def _answer(pair: TokenPair, request: Request, response: Response, days: int) -> SessionOut:
    response.set_cookie(
        COOKIE,
        pair.refresh_token,
        max_age=days * 86400,
        path=PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return SessionOut(access_token=pair.access_token, expires_in=pair.expires_in)


@router.post("")
def open_session(
    body: LoginRequest,
    _: SameOrigin,
    request: Request,
    response: Response,
    comps: ComponentsDep,
    client: ClientDep,
) -> SessionOut:
    """Log in: the access token in the body, the refresh token in the cookie."""
    comps.rate_limiter.hit_login(client, f"{body.tenant}/{body.username}")
    pair = comps.auth.login(body.tenant, body.username, body.password, client=client)
    return _answer(pair, request, response, comps.settings.auth.refresh_token_days)


@router.post("/refresh")
def refresh_session(
    _: SameOrigin, request: Request, response: Response, comps: ComponentsDep, client: ClientDep
) -> SessionOut:
    """A new access token for the cookie's refresh token, which rotates."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise AuthenticationError("no web session")
    comps.rate_limiter.hit_login(client, "refresh")
    pair = comps.auth.refresh(token)
    return _answer(pair, request, response, comps.settings.auth.refresh_token_days)


@router.delete("", status_code=204)
def close_session(caller: AnyCaller, _: SameOrigin, comps: ComponentsDep) -> Response:
    """Log out: revoke the user's refresh tokens and drop the cookie."""
    comps.auth.logout(caller)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
    return response
