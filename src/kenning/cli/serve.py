"""``kenning serve``: the REST API (and OpenAPI docs at /docs) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from kenning.cli.context import state
from kenning.db.engine import SqlDatabase
from kenning.observability import tracing
from kenning.observability.logging import configure_logging


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the API on the embedded store in the data directory."""
    import uvicorn

    from kenning.api.app import create_app

    settings = state(ctx).settings
    api = settings.api.model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    settings = settings.model_copy(update={"api": api})
    # Refuse to start on an outdated schema with a clear message, before uvicorn's
    # start-up traceback would bury it (PostgreSQL never upgrades on its own).
    database = SqlDatabase(settings.database_url, auto_upgrade=settings.auto_upgrade)
    try:
        database.warm_up()
    finally:
        database.close()
    # Kenning's redacting handler takes every log line; uvicorn's own access log is off
    # because it prints query strings (the middleware logs each request without them).
    configure_logging(settings.observability, exclusive=True)
    tracing.configure(settings.observability)
    uvicorn.run(
        create_app(settings),
        host=api.host,
        port=api.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
