"""Every error leaves the API as RFC 9457 ``application/problem+json``, from one table.

The exception tree (``kenning.errors``) maps to statuses here and nowhere else; FastAPI's
own validation and routing errors get the same body shape. Unexpected exceptions become
a 500 whose body says nothing about internals (the log has the traceback).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kenning import errors

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

_STATUS: tuple[tuple[type[errors.KenningError], int], ...] = (
    (errors.FileTooLargeError, 413),
    (errors.InvalidInputError, 400),
    (errors.ParseError, 422),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.RateLimitedError, 429),
    (errors.StoreError, 503),
    (errors.ModelError, 502),
    (errors.FetchError, 502),
    (errors.ToolError, 502),
    (errors.ConfigurationError, 500),
)


def status_for(exc: errors.KenningError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def problem(
    status: int,
    detail: str,
    *,
    instance: str = "",
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a problem document."""

    @app.exception_handler(errors.KenningError)
    async def kenning_error(request: Request, exc: errors.KenningError) -> JSONResponse:
        _count(request, exc)
        status = status_for(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, errors.RateLimitedError):
            headers["Retry-After"] = str(exc.retry_after)
        detail = str(exc) if status < 500 or status in (502, 503) else "internal error"
        return problem(status, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return problem(
            422,
            "the request does not match the schema",
            instance=request.url.path,
            extra={"errors": issues},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _count(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error", instance=request.url.path)


def _count(request: Request, exc: Exception) -> None:
    """``kenning_errors_total{type}``: every error answered, by its class."""
    comps = getattr(request.app.state, "components", None)
    if comps is not None:
        comps.metrics.count_error(exc)
