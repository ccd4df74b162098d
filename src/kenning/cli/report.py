"""``kenning report``: the business-impact report of a tenant, as Markdown, HTML or JSON.

Without ``--out`` the report goes to stdout. With ``--out DIR`` it is written to
``DIR/report.<md|html|json>``; Markdown and HTML also get the PNG charts beside them
(HTML carries them inline as well, so the page is self-contained).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kenning.cli.context import console, state
from kenning.observability.report import build_report, charts, parse_duration, to_html, to_markdown
from kenning.types import DEFAULT_TENANT


class Format(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


def report(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="The window up to now: 24h, 7d, 4w ...")] = "7d",
    format: Annotated[Format, typer.Option("--format", help="md, html or json.")] = Format.MD,
    out: Annotated[
        Path | None, typer.Option(help="Write report and charts into this folder.")
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant to report on.")] = DEFAULT_TENANT,
) -> None:
    """Questions answered, deflection, escalations, feedback, latency, cost, time saved."""
    comps = state(ctx).components
    data = build_report(
        comps.db, tenant, comps.settings.observability, window_s=parse_duration(since)
    )
    wants_charts = format is Format.HTML or (format is Format.MD and out is not None)
    pngs = charts(data) if wants_charts else {}
    if format is Format.JSON:
        text = json.dumps(data, indent=2)
    elif format is Format.HTML:
        text = to_html(data, pngs)
    else:
        text = to_markdown(data, sorted(pngs))
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (out / name).write_bytes(png)
    target = out / f"report.{format.value}"
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {target}" + (f" and {len(pngs)} charts" if pngs else ""))
