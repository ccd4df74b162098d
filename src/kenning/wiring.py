"""Composition root: settings in, ready-to-use objects out. The only place naming backends.

Constructors are cheap; models load on first use (or ``warm_up``), so ``kenning --help``
and tests that never embed stay fast.
"""

from __future__ import annotations

from functools import cached_property

from kenning.auth.rate_limit import RateLimiter
from kenning.auth.repository import AuthRepository
from kenning.auth.secrets import signing_secret
from kenning.auth.service import AuthService
from kenning.db.engine import SqlDatabase
from kenning.embedding import make_embedder
from kenning.embedding.base import Embedder
from kenning.errors import ConfigurationError
from kenning.generation.base import LLM
from kenning.jobs import JobRepository
from kenning.jobs.queue import InProcessQueue, JobQueue, ProcrastinateQueue
from kenning.jobs.sources import SourceRepository
from kenning.memory import ConversationRepository
from kenning.pipelines.answering import Assistant
from kenning.pipelines.indexing import Indexer
from kenning.retrieval.hybrid import Retriever
from kenning.settings import Settings, StoreBackend
from kenning.store.base import Store
from kenning.store.sqlite import SQLiteStore
from kenning.store.sqlite_db import Database


class Components:
    """Lazily built stages sharing one store and one embedder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings.embedding, self.settings.models_dir)

    @cached_property
    def store(self) -> Store:
        if self.settings.store.backend is StoreBackend.POSTGRES:
            return self._postgres_store()
        store = SQLiteStore(
            self.settings.store_path,
            dimensions=self.settings.embedding.dimensions,
            db=Database(self.settings.store_path, auto_upgrade=self.settings.auto_upgrade),
        )
        store.warm_up()
        return store

    def _postgres_store(self) -> Store:
        """The server-shape store, on ``store.dsn`` or else the service ``database.url``."""
        settings = self.settings.store
        dsn = settings.dsn or self.settings.database.url
        if dsn is None:
            raise ConfigurationError(
                "store backend 'postgres' needs KENNING_STORE__DSN or KENNING_DATABASE__URL"
            )
        try:
            from kenning.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigurationError(
                "the PostgreSQL store needs its driver: pip install 'kenning[postgres]'"
            ) from exc
        store = PostgresStore(
            dsn.get_secret_value(),
            dimensions=self.settings.embedding.dimensions,
            pool_size=settings.pool_size,
            exact_below=settings.exact_below,
        )
        store.warm_up()
        return store

    @cached_property
    def indexer(self) -> Indexer:
        self.store.bind_embedder(self.embedder.name, self.embedder.dimensions)
        return Indexer(self.store, self.embedder, self.settings.chunking, self.settings.ingest)

    @cached_property
    def retriever(self) -> Retriever:
        self.store.bind_embedder(self.embedder.name, self.embedder.dimensions)
        return Retriever(self.store, self.embedder, self.settings.retrieval)

    @cached_property
    def llm(self) -> LLM | None:
        """The configured chat model, or None: answers are then extractive."""
        if not self.settings.llm.base_url:
            return None
        from kenning.generation.openai_chat import OpenAIChat

        return OpenAIChat(self.settings.llm)

    @cached_property
    def assistant(self) -> Assistant:
        return Assistant(
            self.retriever,
            self.store,
            self.embedder,
            self.llm,
            self.settings.answer,
            self.settings.llm,
        )

    # -- the service (API) -------------------------------------------------------------

    @cached_property
    def db(self) -> SqlDatabase:
        """The service tables (users, keys, audit, jobs, sources, conversations): by
        default the data directory's SQLite file, the store's; or PostgreSQL."""
        db = SqlDatabase(self.settings.database_url, auto_upgrade=self.settings.auto_upgrade)
        db.warm_up()
        return db

    @cached_property
    def auth(self) -> AuthService:
        configured = self.settings.auth.jwt_secret
        key = signing_secret(
            configured.get_secret_value() if configured else None, self.settings.data_dir
        )
        return AuthService(AuthRepository(self.db), self.settings.auth, key)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.settings.api.rate_limit, self.settings.api.login_rate_limit)

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository(self.db)

    @cached_property
    def job_queue(self) -> JobQueue:
        """Embedded: a thread of this process. Service database on PostgreSQL:
        procrastinate tasks that ``kenning worker`` processes run."""
        if self.db.dialect == "postgresql":
            from kenning.jobs.worker import postgres_dsn

            return ProcrastinateQueue(postgres_dsn(self), self.jobs)
        return InProcessQueue(self)

    @cached_property
    def sources(self) -> SourceRepository:
        return SourceRepository(self.db)

    @cached_property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.db)

    def close(self) -> None:
        if "job_queue" in self.__dict__:
            self.job_queue.close()
        if "store" in self.__dict__:
            self.store.close()
        if "db" in self.__dict__:
            self.db.close()
        llm = self.__dict__.get("llm")
        if llm is not None and hasattr(llm, "close"):
            llm.close()
