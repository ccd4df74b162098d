"""Composition root: settings in, ready-to-use objects out. The only place naming backends.

Constructors are cheap; models load on first use (or ``warm_up``), so ``kenning --help``
and tests that never embed stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from kenning.agent import Agent, AgentStore, ToolRegistry
from kenning.agent.guardrails import ToolRunner
from kenning.auth.rate_limit import RateLimiter
from kenning.auth.repository import AuthRepository
from kenning.auth.secrets import signing_secret
from kenning.auth.service import AuthService
from kenning.db.engine import SqlDatabase
from kenning.embedding import make_embedder
from kenning.embedding.base import Embedder
from kenning.embedding.cache import CachedEmbedder
from kenning.errors import ConfigurationError
from kenning.generation.base import LLM, ToolCallingLLM
from kenning.jobs import JobRepository
from kenning.jobs.queue import InProcessQueue, JobQueue, ProcrastinateQueue
from kenning.jobs.repository import Job
from kenning.jobs.sources import SourceRepository
from kenning.memory import (
    ConversationMemory,
    ConversationRepository,
    HistoryFitter,
    MemoryRepository,
    QueryRewriter,
)
from kenning.memory.extract import MemoryExtractor
from kenning.observability.metrics import (
    CacheCollector,
    CacheStats,
    JobQueueCollector,
    Metrics,
    ReportsCaches,
    job_queue_counts,
)
from kenning.observability.monitors import MonitorCollector, Monitors
from kenning.observability.recorder import AnswerRecorder
from kenning.pipelines.answering import Assistant
from kenning.pipelines.indexing import Indexer
from kenning.retrieval.hybrid import Retriever
from kenning.settings import Settings, StoreBackend
from kenning.store.base import Store
from kenning.store.sqlite import SQLiteStore
from kenning.store.sqlite_db import Database

_CACHING_COMPONENTS = ("store", "sentence_embedder")
"""Components whose in-process caches are exported as ``kenning_cache_requests_total``."""


class Components:
    """Lazily built stages sharing one store and one embedder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings.embedding, self.settings.models_dir)

    @cached_property
    def sentence_embedder(self) -> CachedEmbedder:
        """The embedder for sentences (reranking, extractive answers, groundedness): one
        question embeds the same sentences in each of those steps, so they share a cache."""
        return CachedEmbedder(self.embedder)

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
            ef_search=settings.ef_search,
            ef_search_per_million=settings.ef_search_per_million,
            keyword_max_postings=settings.keyword_max_postings,
            read_dsn=settings.read_dsn.get_secret_value() if settings.read_dsn else None,
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
        return Retriever(
            self.store,
            self.embedder,
            self.settings.retrieval,
            sentence_embedder=self.sentence_embedder,
        )

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
            self.sentence_embedder,
            self.llm,
            self.settings.answer,
            self.settings.llm,
            capture_content=self.settings.observability.capture_content,
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

    def observe_job(self, job: Job, report: Mapping[str, Any], error: str | None) -> None:
        """Ingestion metrics of a job this process ran (workers elsewhere count their own)."""
        self.metrics.observe_ingest(job.kind.value, report, error)

    @cached_property
    def sources(self) -> SourceRepository:
        return SourceRepository(self.db)

    @cached_property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.db)

    # -- the agent (docs/agent.md) -------------------------------------------------------

    @cached_property
    def tools(self) -> ToolRegistry:
        from kenning.agent.build import build_registry

        return build_registry(self)

    @cached_property
    def tool_runner(self) -> ToolRunner:
        return ToolRunner(self.settings.agent)

    @cached_property
    def agent_store(self) -> AgentStore:
        return AgentStore(self.db)

    @cached_property
    def agent(self) -> Agent | None:
        """The tool-using agent, or None without a tools-capable LLM (the API then answers
        plainly, saying so)."""
        from kenning.agent.build import make_agent

        llm = self.llm
        return make_agent(self, llm) if isinstance(llm, ToolCallingLLM) else None
    # -- memory (docs/memory.md) ---------------------------------------------------------

    @cached_property
    def memory_llm(self) -> LLM | None:
        """The chat model for rewriting, summaries and extraction: one attempt, bounded by
        ``memory.llm_timeout_s`` (each has a deterministic fallback, so waiting is worse)."""
        if not self.settings.llm.base_url:
            return None
        from kenning.generation.openai_chat import OpenAIChat

        llm, timeout = self.settings.llm, self.settings.memory.llm_timeout_s
        bounded = {
            "read_timeout_s": min(llm.read_timeout_s, timeout),
            "connect_timeout_s": min(llm.connect_timeout_s, timeout),
            "max_retries": 0,
        }
        return OpenAIChat(llm.model_copy(update=bounded))

    @cached_property
    def memories(self) -> MemoryRepository:
        return MemoryRepository(self.db, self.sentence_embedder, self.settings.memory)

    @cached_property
    def conversation_memory(self) -> ConversationMemory:
        m = self.settings.memory
        llm = self.memory_llm
        return ConversationMemory(
            self.conversations,
            self.memories,
            QueryRewriter(llm, policy=m.rewrite, max_tokens=m.rewrite_max_tokens),
            HistoryFitter(
                self.sentence_embedder.count_tokens,
                llm,
                recent_turns=m.recent_turns,
                budget_tokens=m.history_budget_tokens,
                summary_max_tokens=m.summary_max_tokens,
            ),
            MemoryExtractor(llm, max_chars=m.max_memory_chars)
            if llm is not None and m.extract_with_llm
            else None,
            m,
        )

    # -- observability ------------------------------------------------------------------

    @cached_property
    def metrics(self) -> Metrics:
        """This service's metrics; the collectors read the database and the store at
        scrape time (only once they are open: a scrape never opens them itself)."""
        metrics = Metrics()
        opened = self.__dict__
        metrics.add_collector(
            JobQueueCollector(lambda: job_queue_counts(self.db) if "db" in opened else {})
        )
        metrics.add_collector(CacheCollector(self._cache_stats))
        metrics.add_collector(
            MonitorCollector(lambda: self.monitors.current() if "db" in opened else [])
        )
        return metrics

    @cached_property
    def monitors(self) -> Monitors:
        return Monitors(self.db, self.settings.observability)

    @cached_property
    def recorder(self) -> AnswerRecorder:
        return AnswerRecorder(self.conversations, self.metrics, self.settings.observability)

    def _cache_stats(self) -> CacheStats:
        """Hit/miss counts of every built component that keeps a cache (``cache_stats``)."""
        stats: dict[str, tuple[int, int]] = {}
        for name in _CACHING_COMPONENTS:
            component = self.__dict__.get(name)
            if isinstance(component, ReportsCaches):
                stats.update(component.cache_stats())
        return stats

    def close(self) -> None:
        if "tool_runner" in self.__dict__:
            self.tool_runner.close()
        if "job_queue" in self.__dict__:
            self.job_queue.close()
        if "store" in self.__dict__:
            self.store.close()
        if "db" in self.__dict__:
            self.db.close()
        for name in ("llm", "memory_llm"):
            llm = self.__dict__.get(name)
            if llm is not None and hasattr(llm, "close"):
                llm.close()
