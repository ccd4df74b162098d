"""The FastAPI application factory: ``create_app(settings)``.

The lifespan builds the components once (store, models, auth) and warms them up before
the first request, marks jobs a previous process left unfinished as failed (when jobs run
in-process; workers own them otherwise), and closes
everything on shutdown. ``/healthz`` answers as soon as the process runs; ``/readyz``
once the store is open and the models are loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kenning import web
from kenning.api import problems
from kenning.api.limits import BodySizeLimit
from kenning.api.routes import (
    accounts,
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

UPLOAD_PATHS = ("/v1/documents",)


def create_app(
    settings: Settings | None = None, *, components: Components | None = None
) -> FastAPI:
    settings = settings or Settings()
    comps = components or Components(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        comps.db.warm_up()  # opens (and migrates, or checks) the database
        if comps.job_queue.local:  # a job of this process that a restart interrupted
            comps.jobs.fail_interrupted()
        comps.retriever.embedder.warm_up()  # the retriever binds the store to the model
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
        memories,
        openai_compat,
        reports,
        metrics,
    ):
        app.include_router(module.router)
    web.install(app)  # the UI at / (src/kenning/web)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kenning")
    except PackageNotFoundError:
        return "0.0.0"
