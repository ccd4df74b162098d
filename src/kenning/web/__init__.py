"""The web UI: static pages and small ES modules over the REST API, served at ``/``.

There is no build step and nothing is fetched from elsewhere: ``static/`` is what the
browser runs (docs/web.md says why). This package adds three things to the app:
the page and its assets, a cookie-held refresh session for the browser
(``session.py``), and security headers on every response (``headers.py``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from kenning.web import session
from kenning.web.headers import SecurityHeaders

STATIC = Path(__file__).parent / "static"

__all__ = ["STATIC", "install"]


def install(app: FastAPI) -> None:
    """Serve the UI at ``/`` (assets under ``/static``) with its session routes."""
    app.add_middleware(SecurityHeaders)
    app.include_router(session.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # no-cache: revalidate (ETag) so a new release is picked up at the next visit
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
