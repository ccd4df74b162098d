"""``GET /metrics``: the Prometheus exposition of this service.

The metrics cover every tenant of the installation (monitor gauges carry tenant names),
so they are not public. With ``observability.metrics_token`` set, a scraper presents it
as a bearer token (Prometheus: ``authorization: {credentials_file: ...}``); without one,
only clients on loopback may scrape (a sidecar, ``kubectl port-forward``, the host).
It is an operator endpoint, not part of the REST API, so it stays out of the OpenAPI
document (and its credential checks are its own, tested in tests/observability).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from kenning.api.deps import ComponentsDep
from kenning.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from kenning.observability.access import Scrape, scrape_access

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request, comps: ComponentsDep) -> Response:
    """Prometheus metrics (bearer ``observability.metrics_token``, or loopback only)."""
    settings = comps.settings.observability
    if not settings.metrics_enabled:
        raise NotFoundError("metrics are disabled (observability.metrics_enabled)")
    token = settings.metrics_token
    access = scrape_access(
        token.get_secret_value() if token is not None else None,
        request.headers.get("authorization", ""),
        request.client.host if request.client else "",
    )
    if access is Scrape.BAD_TOKEN:
        raise AuthenticationError("GET /metrics needs the metrics bearer token")
    if access is Scrape.NOT_LOOPBACK:
        raise PermissionDeniedError(
            "set observability.metrics_token to scrape /metrics from another host"
        )
    return Response(comps.metrics.render(), media_type=CONTENT_TYPE_LATEST)

