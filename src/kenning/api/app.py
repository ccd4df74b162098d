"""The FastAPI application factory: ``create_app(settings)``.

The lifespan builds the components once (store, models, auth) and warms them up before
the first request, marks jobs a previous process left unfinished as failed (when jobs run
in-process; workers own them otherwise), and closes
everything on shutdown. ``/healthz`` answers as soon as the process runs; ``/readyz``
once the store is open and the models are loaded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from kenning import web
from kenning.api import problems
from kenning.api.limits import BodySizeLimit
from kenning.api.routes import (
    accounts,
    agent,
    answers,
    auth,
    chat,
    documents,
    health,
    jobs,
    memories,
    metrics,
    openai_compat,
    reports,
    search,
    tenants,
)
from kenning.api.timeouts import RequestTimeout
from kenning.observability.middleware import Observe
from kenning.settings import Settings
from kenning.wiring import Components

if TYPE_CHECKING:
    from kenning.mcp.server import MountedMCP

UPLOAD_PATHS = ("/v1/documents",)
log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, components: Components | None = None
) -> FastAPI:
    settings = settings or Settings()
    comps = components or Components(settings)
    mcp_http = _mcp_http(comps, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        comps.db.warm_up()  # opens (and migrates, or checks) the database
        if comps.job_queue.local:  # a job of this process that a restart interrupted
            comps.jobs.fail_interrupted()
        comps.retriever.embedder.warm_up()  # the retriever binds the store to the model
        if settings.llm.base_url:  # the agent's tools: config errors stop start-up here
            # in a thread: MCP discovery runs its own event loop
            tools = await run_in_threadpool(lambda: comps.tools)
            log.info("agent tools: %s", ", ".join(tools.names))
        async with AsyncExitStack() as stack:
            if mcp_http is not None:
                await stack.enter_async_context(mcp_http.lifespan())
            app.state.ready = True
            try:
                yield
            finally:
                app.state.ready = False
                comps.close()

    app = FastAPI(
        title="Kenning",
        summary="Answers grounded in your documents, with citations and access control.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.components = comps
    app.state.ready = False
    problems.install(app)
    app.add_middleware(RequestTimeout, seconds=settings.api.request_timeout_s)
    app.add_middleware(
        BodySizeLimit,
        default=settings.api.max_json_bytes,
        uploads=settings.api.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(Observe, metrics=comps.metrics)  # outermost: times everything
    for module in (
        health,
        auth,
        accounts,
        tenants,
        documents,
        jobs,
        search,
        chat,
        answers,
        agent,
        memories,
        openai_compat,
        reports,
        metrics,
    ):
        app.include_router(module.router)
    if mcp_http is not None:  # MCP's streamable HTTP: GET, POST and DELETE on one path
        app.router.routes.append(Route("/mcp", mcp_http.app, methods=["GET", "POST", "DELETE"]))
    web.install(app)  # the UI at / (src/kenning/web)
    return app


def _mcp_http(comps: Components, settings: Settings) -> MountedMCP | None:
    """Kenning's MCP server for ``/mcp`` (docs/agent.md), if enabled and installed."""
    if not settings.agent.serve_mcp:
        return None
    try:
        from kenning.mcp.server import mounted
    except ImportError:
        log.info("MCP SDK not installed (kenning[mcp]): no /mcp endpoint")
        return None
    return mounted(comps, host=settings.api.host)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kenning")
    except PackageNotFoundError:
        return "0.0.0"
