"""``GET /v1/report``: the business-impact report of the caller's tenant (admins only).

JSON by default (the shape in docs/observability.md, read by the web UI); ``format=
markdown`` or ``format=html`` (a self-contained page with the charts inline).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from kenning.api.deps import Admin, ComponentsDep
from kenning.observability.report import build_report, charts, parse_duration, to_html, to_markdown

router = APIRouter(prefix="/v1", tags=["observability"])


class ReportFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


@router.get(
    "/report",
    response_model=None,
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}}, "description": "the report"}
    },
)
def report(
    caller: Admin,
    comps: ComponentsDep,
    since: Annotated[str, Query(max_length=16, description="window: 24h, 7d, 30d")] = "7d",
    format: ReportFormat = ReportFormat.JSON,
) -> dict[str, Any] | Response:
    """Questions, deflection, escalations, feedback, latency, cost and time saved."""
    data = build_report(
        comps.db,
        caller.user.tenant,
        comps.settings.observability,
        window_s=parse_duration(since),
    )
    if format is ReportFormat.MARKDOWN:
        return PlainTextResponse(to_markdown(data), media_type="text/markdown")
    if format is ReportFormat.HTML:
        return HTMLResponse(to_html(data, charts(data)))
    return data
