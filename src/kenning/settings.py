"""Typed settings: one nested section per stage, read from ``KENNING_*`` env variables.

Nested fields use a double underscore: ``KENNING_EMBEDDING__BACKEND=openai``. Secrets are
``SecretStr`` so they never print. The data directory is the one piece of state every
command shares; ``--data-dir`` on the CLI overrides ``KENNING_DATA_DIR``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbeddingBackend(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"


class FusionMethod(StrEnum):
    RRF = "rrf"
    CONVEX = "convex"


class SearchMode(StrEnum):
    KEYWORD = "keyword"
    DENSE = "dense"
    HYBRID = "hybrid"


class RerankMethod(StrEnum):
    NONE = "none"
    PASSAGE = "passage"
    """Best-window BM25 and best-sentence cosine inside each candidate (retrieval/rerank.py)."""


class StoreBackend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class StoreSettings(BaseModel):
    """Where documents, chunks and vectors live. SQLite (one file in the data directory)
    is the default; ``postgres`` needs ``pip install 'kenning[postgres]'`` and a DSN, e.g.
    ``KENNING_STORE__DSN=postgresql://kenning:secret@db:5432/kenning`` (docs/postgres.md)."""

    backend: StoreBackend = StoreBackend.SQLITE
    dsn: SecretStr | None = None
    pool_size: int = Field(default=4, ge=1, le=256)
    """Connections per process to PostgreSQL."""
    read_dsn: SecretStr | None = None
    """A read replica for searches (keyword, dense, loading hits); writes, ingestion's
    reads and document listings stay on ``dsn``. A lagging replica only delays when a
    new document becomes searchable (docs/scaling.md)."""
    exact_below: int = Field(default=10_000, ge=0)
    """Dense search scans exactly when a filter admits at most this many chunks."""
    keyword_max_postings: int = Field(default=0, ge=0)
    """Most chunks one keyword query may score in PostgreSQL; 0: no limit (exact BM25,
    rankings equal SQLite's). Set it (e.g. 100000) on large scopes to cap keyword p99 at
    the cost of exactness (bench/results/keyword_plan_ab.md)."""
    ef_search: int = Field(default=200, ge=10, le=1000)
    """HNSW candidate list (``hnsw.ef_search``) for broad filters, at least."""
    ef_search_per_million: int = Field(default=1000, ge=0, le=1000)
    """...growing with the index: this many per million stored chunks (capped at 1000,
    pgvector's limit). At 1M chunks content recall@10 rose from 0.79 at 200 to 0.97 at
    1000 (bench/results/scale_postgres.md); 0 keeps ``ef_search`` fixed."""


class IngestSettings(BaseModel):
    max_file_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    """Files above this are refused with a per-file error (they are never read whole)."""


class WebSettings(BaseModel):
    """Fetching URL sources (see ``kenning.ingest.web`` for the SSRF guard)."""

    allow_networks: list[IPvAnyNetwork] = []
    """Non-public networks that may be fetched (an intranet, e.g. ``10.20.0.0/16``);
    loopback, private, link-local and metadata addresses are refused otherwise."""
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_pages: int = Field(default=1000, ge=1, le=100_000)
    """Most pages one sync of a URL source fetches; a source may ask for fewer."""
    respect_robots: bool = True
    user_agent: str = "Kenning/0.1 (self-hosted knowledge assistant)"


class ChunkingSettings(BaseModel):
    max_tokens: int = Field(default=256, ge=32, le=8192)
    """Upper bound in the embedder's own tokens, special tokens included (MiniLM: 256)."""
    target_tokens: int = Field(default=200, ge=16)
    """Chunks are packed from whole blocks up to about this size."""


class EmbeddingSettings(BaseModel):
    backend: EmbeddingBackend = EmbeddingBackend.LOCAL
    quantized: bool = False
    """Use the int8 dynamically-quantised ONNX graph (faster; see bench/results)."""
    batch_size: int = Field(default=32, ge=1, le=1024)
    threads: int = Field(default=0, ge=0)
    """ONNX Runtime intra-op threads; 0 lets it use every core."""
    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "all-MiniLM-L6-v2"
    api_key: SecretStr | None = None
    dimensions: int = 384
    timeout_s: float = 30.0


class RetrievalSettings(BaseModel):
    mode: SearchMode = SearchMode.HYBRID
    fusion: FusionMethod = FusionMethod.CONVEX
    """Convex (alpha 0.5) beat RRF on SciFact train: bench/results/fusion_tuning_train.md."""
    rrf_k: int = Field(default=60, ge=1)
    convex_alpha: float = Field(default=0.5, ge=0.0, le=1.0)
    """Weight of the dense leg in convex fusion (keyword gets 1 - alpha)."""
    candidates: int = Field(default=100, ge=1, le=10_000)
    """How many hits each leg contributes to fusion."""
    rerank: RerankMethod = RerankMethod.PASSAGE
    """Second stage over the fused hybrid candidates; ``none`` for fusion order only."""
    rerank_depth: int = Field(default=30, ge=1, le=200)
    """How many fused candidates the reranker re-orders (its cost grows with it)."""
    rerank_window: int = Field(default=2, ge=1, le=10)
    """Sentences per window of the reranker's lexical score."""
    rerank_lexical_weight: float = Field(default=0.5, ge=0.0, le=10.0)
    rerank_dense_weight: float = Field(default=0.5, ge=0.0, le=10.0)


class LLMSettings(BaseModel):
    """An OpenAI-compatible chat-completions server; no ``base_url`` means extractive answers."""

    base_url: str | None = None
    """e.g. http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:11434/v1 (Ollama)."""
    model: str = "default"
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    max_answer_tokens: int = Field(default=512, ge=16, le=32_768)
    context_window: int = Field(default=8192, ge=512)
    """The model's context length in tokens: the prompt is fitted under it."""
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    """Longest wait for the next byte (first token included) before giving up."""
    max_retries: int = Field(default=2, ge=0, le=10)
    max_retry_wait_s: float = Field(default=20.0, ge=0)
    """A Retry-After longer than this is not waited for: the caller falls back instead."""


class AnswerSettings(BaseModel):
    retrieve_k: int = Field(default=20, ge=1, le=200)
    """Hits retrieved (hybrid) before context assembly."""
    max_passages: int = Field(default=8, ge=1, le=50)
    abstain_below: float = Field(default=0.49, ge=-1.0, le=1.0)
    """Abstain when the best cosine between the question and one sentence of the context
    is below this. Chosen on COVID-QA with half the articles held out as the highest
    threshold with <= 5 % false abstention on the tuning half (6 % held out); it catches
    off-topic questions and some in-domain gaps (19 %): see docs/answers.md."""
    extractive_sentences: int = Field(default=3, ge=1, le=10)
    prompt_overhead_tokens: int = Field(default=400, ge=0)
    """Tokens reserved for instructions and question when fitting sources into the window."""


class RewritePolicy(StrEnum):
    """How a message in a conversation becomes the query retrieval runs (docs/memory.md)."""

    LLM = "llm"
    """The LLM rewrites every message that has history (the rules when it fails or when
    no LLM is configured)."""
    LLM_FOR_FOLLOW_UPS = "llm_for_follow_ups"
    """The LLM only for messages the rules call follow-ups: one call less per standalone
    question, but follow-ups the rules miss stay unresolved."""
    RULES = "rules"
    """The deterministic rules only."""
    OFF = "off"
    """Search every message as typed."""


class MemorySettings(BaseModel):
    """Conversation memory and long-term user memory (docs/memory.md)."""

    rewrite: RewritePolicy = RewritePolicy.LLM
    """Rewriting a follow-up ("and for contractors?") into a standalone search query."""
    llm_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Longest wait for a byte of the LLM's rewrite, summary or extraction (connecting
    included, one attempt, no retries); then the fallback runs."""
    rewrite_max_tokens: int = Field(default=64, ge=8, le=512)
    recent_turns: int = Field(default=4, ge=0, le=50)
    """Question/answer pairs of the conversation kept verbatim in the prompt."""
    history_budget_tokens: int = Field(default=1200, ge=0, le=32_768)
    """Tokens the conversation (summary + recent turns) may take in the prompt."""
    summary_max_tokens: int = Field(default=300, ge=16, le=4096)
    """Bound of the summary of older turns (LLM or extractive)."""
    long_term: bool = True
    """Keep per-user facts and preferences across conversations."""
    extract_with_llm: bool = True
    """Let the LLM pick durable facts from the user's messages (explicit "remember that"
    works without it)."""
    recall_k: int = Field(default=3, ge=0, le=20)
    """Most memories put into one question's prompt."""
    recall_min_similarity: float = Field(default=0.35, ge=-1.0, le=1.0)
    """A memory is recalled only when its cosine to the question reaches this ..."""
    recall_min_similarity_personal: float = Field(default=-1.0, ge=-1.0, le=1.0)
    """... or this for a question in the first person ("can I ...?", "my ..."): who is
    asking matters to it in ways a cosine cannot see ("I am a contractor" vs "how much
    leave can I take?" is 0.13), so the best ``recall_k`` of the user's memories go in."""
    dedup_similarity: float = Field(default=0.92, ge=0.0, le=1.0)
    """A new memory this close to an existing one of the same user replaces it."""
    forget_similarity: float = Field(default=0.6, ge=0.0, le=1.0)
    """"forget that ..." deletes the user's closest memory if at least this close."""
    max_memories_per_user: int = Field(default=500, ge=1, le=100_000)
    max_memory_chars: int = Field(default=500, ge=20, le=4000)
    memory_budget_tokens: int = Field(default=300, ge=0, le=8192)


class DatabaseSettings(BaseModel):
    """Where service state lives (users, keys, audit, jobs, sources, conversations)."""

    url: SecretStr | None = None
    """SQLAlchemy URL, e.g. ``postgresql://kenning:...@db:5432/kenning``; by default the
    SQLite file of the data directory (``DATA_DIR/kenning.db``), shared with the store."""
    auto_upgrade: bool | None = None
    """Upgrade the schema when a process opens the database. Default: yes for SQLite (one
    process), no for PostgreSQL, where ``kenning db upgrade`` runs once per deploy and
    servers refuse to start on an outdated schema."""


class WorkerSettings(BaseModel):
    """Ingestion workers of the server shape: ``kenning worker`` (docs/workers.md)."""

    concurrency: int = Field(default=1, ge=1, le=64)
    """Tasks one worker process runs at once (``--concurrency`` overrides it)."""
    files_per_part: int = Field(default=8, ge=1, le=10_000)
    """An upload or folder sync is split into tasks of this many files, so N workers
    ingest it in parallel."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    stalled_after_s: float = Field(default=30.0, gt=0)
    """A worker whose heartbeat is older than this is dead: its tasks are retried."""
    recover_every_s: float = Field(default=15.0, gt=0)
    """How often each worker looks for tasks of dead workers (and once at start)."""
    poll_s: float = Field(default=5.0, gt=0)
    """Longest wait for new tasks when a notification is missed (LISTEN/NOTIFY wakes
    workers at once otherwise)."""
    max_attempts: int = Field(default=3, ge=1, le=100)
    """A task whose worker died this many times is failed, not retried again."""
    metrics_host: str = "0.0.0.0"  # noqa: S104  (pods are scraped on their IP; token-guarded)
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """Where ``kenning worker`` serves ``/metrics`` (ingestion counters, job queue depth);
    0 picks a free port (printed at start); ``observability.metrics_enabled=false`` turns
    it off. Same access rule as the API's: ``observability.metrics_token`` or
    loopback only."""


class AuthSettings(BaseModel):
    """Login tokens and API keys. Without ``jwt_secret`` the embedded default keeps a
    random secret in ``DATA_DIR/secrets/jwt.key`` (mode 0600); servers behind a load
    balancer must share one secret, set here."""

    jwt_secret: SecretStr | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    api_key_max_days: int = Field(default=365, ge=1, le=3650)
    """Longest lifetime an API key may be created with."""


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    rate_limit: str = "120/minute"
    """Per user and per API key, in the ``limits`` notation (e.g. ``10/second``)."""
    login_rate_limit: str = "10/minute"
    """Per client address and user name: slows password guessing."""
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    """Largest request body for uploads; larger ones get 413 before they are stored."""
    max_json_bytes: int = Field(default=1024 * 1024, gt=0)
    """Largest body for every other request."""
    request_timeout_s: float = Field(default=120.0, gt=0)
    """Longest a non-streaming request may run before it is answered with 503."""
    source_roots: list[Path] = []
    """Server folders that admins may register as sources; nothing else is readable."""
    cors_origins: list[str] = []


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class ModelPrice(BaseModel):
    """What one model costs, in the price table's currency per 1,000 tokens."""

    input_per_1k: float = Field(default=0.0, ge=0.0)
    output_per_1k: float = Field(default=0.0, ge=0.0)


class ObservabilitySettings(BaseModel):
    """Metrics, traces, logs, quality monitors and the business report (docs/observability.md).

    Prices are a table by model name (``Answer.model``, i.e. ``llm.model``), e.g.
    ``KENNING_OBSERVABILITY__PRICES='{"gpt-4o-mini": {"input_per_1k": 0.00015,
    "output_per_1k": 0.0006}}'``; a model missing from it costs 0 (a local model).
    """

    prices: dict[str, ModelPrice] = {}
    currency: str = "USD"
    minutes_per_deflection: float = Field(default=6.0, ge=0.0)
    """Agent minutes one question answered without a human saves (the report's estimate)."""
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    """Bearer token ``GET /metrics`` requires. Unset: only loopback clients may scrape, since
    the metrics cover every tenant of the installation."""
    tracing_enabled: bool = False
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint, e.g. ``http://otel-collector:4318/v1/traces``; needs
    ``pip install 'kenning[otlp]'``. Unset with tracing enabled: spans stay in-process."""
    service_name: str = "kenning"
    capture_content: bool = False
    """Put question and answer text on spans. Off: traces carry sizes and scores only."""
    log_format: LogFormat = LogFormat.JSON
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    monitor_window_hours: float = Field(default=24.0, gt=0)
    """The rolling window the quality monitors average over."""
    baseline_days: float = Field(default=7.0, gt=0)
    """The window before it that retrieval-score drift (PSI) compares against."""
    monitor_min_samples: int = Field(default=20, ge=1)
    """Fewer answers than this in a window: that monitor is not exported (too noisy)."""
    monitor_cache_s: float = Field(default=60.0, ge=0)
    """How long a computed set of monitor values serves scrapes before it is recomputed."""


class HelpdeskSettings(BaseModel):
    """The helpdesk the agent's ``create_ticket`` and ``escalate_to_human`` tools call: a REST
    endpoint or webhook receiving JSON (docs/agent.md). Unset ``url``: the tools are absent."""

    url: str | None = None
    """Base URL, e.g. ``https://helpdesk.example.com/api``."""
    ticket_path: str = "/tickets"
    escalation_path: str = "/escalations"
    auth_header: str = "Authorization"
    auth_value: SecretStr | None = None
    """e.g. ``Bearer <token>``; sent only to ``url``, never logged or audited."""
    timeout_s: float = Field(default=10.0, gt=0, le=300)


class OpenAPIToolSettings(BaseModel):
    """A company API described by OpenAPI 3: one tool per allow-listed ``operationId``."""

    spec: Path | None = None
    """The spec file (JSON, or YAML when PyYAML is installed)."""
    base_url: str | None = None
    """Where the API lives; default: the spec's first ``servers`` entry."""
    operations: list[str] = []
    """The only operations that become tools; an empty list exposes none."""
    auth_header: str = "Authorization"
    auth_value: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)


class MCPServerSettings(BaseModel):
    """An MCP server whose tools the agent may use, as ``mcp__<name>__<tool>``."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{1,24}$")
    command: list[str] = []
    """A stdio server: the command and its arguments."""
    url: str | None = None
    """A streamable-HTTP server, e.g. ``http://tools.internal:8000/mcp``."""
    api_key: SecretStr | None = None
    """Sent as ``Authorization: Bearer`` to an HTTP server."""
    env: dict[str, str] = {}
    read_only: list[str] = []
    """Tools known to have no side effects: they run without confirmation. Every other
    tool of the server needs the user's confirmation."""
    timeout_s: float = Field(default=30.0, gt=0, le=600)


class AgentSettings(BaseModel):
    """The tool-using agent: tools, who may use which, and how failures are contained
    (docs/agent.md). Tool names in ``role_tools`` may use shell wildcards (``api__*``)."""

    max_steps: int = Field(default=6, ge=1, le=50)
    """Model turns per request; the agent stops and says so after this many."""
    role_tools: dict[str, list[str]] = {
        "viewer": ["search_knowledge", "create_ticket", "escalate_to_human"],
        "editor": ["search_knowledge", "create_ticket", "escalate_to_human", "api__*", "mcp__*"],
        "admin": ["*"],
    }
    tool_timeout_s: float = Field(default=20.0, gt=0, le=600)
    """Longest one attempt of a tool may take."""
    tool_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a transient failure (connection, timeout, HTTP 5xx/429)."""
    retry_backoff_s: float = Field(default=0.5, ge=0, le=60)
    """First pause between attempts; it doubles each retry (with jitter)."""
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    """Consecutive failed calls after which a tool's circuit opens."""
    breaker_reset_s: float = Field(default=30.0, gt=0, le=3600)
    """How long an open circuit refuses calls before one trial call is let through."""
    max_result_chars: int = Field(default=6000, ge=200, le=200_000)
    """Tool output given back to the model is cut to this length."""
    api_keys_may_confirm: bool = False
    """Whether a request authenticated by an API key may confirm an action. Off: only a
    logged-in user (an access token) confirms, so an automated client whose model was
    hijacked by a document cannot approve its own injected action. Rejecting is allowed."""
    serve_mcp: bool = True
    """Kenning's own MCP server (tools ``search`` and ``ask``) at ``/mcp`` of the API, when
    the SDK is installed (``kenning[mcp]``); ``kenning mcp serve`` runs it on its own."""
    helpdesk: HelpdeskSettings = HelpdeskSettings()
    openapi: OpenAPIToolSettings = OpenAPIToolSettings()
    mcp_servers: list[MCPServerSettings] = []


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kenning", appauthor=False))


def default_models_dir() -> Path:
    """Models exported from packaged weights are a cache shared by every data directory."""
    return Path(platformdirs.user_cache_dir("kenning", appauthor=False)) / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KENNING_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    models_dir: Path = Field(default_factory=default_models_dir)
    store: StoreSettings = StoreSettings()
    ingest: IngestSettings = IngestSettings()
    web: WebSettings = WebSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    memory: MemorySettings = MemorySettings()
    database: DatabaseSettings = DatabaseSettings()
    auth: AuthSettings = AuthSettings()
    api: ApiSettings = ApiSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    worker: WorkerSettings = WorkerSettings()
    agent: AgentSettings = AgentSettings()

    @property
    def store_path(self) -> Path:
        return self.data_dir / "kenning.db"

    @property
    def database_url(self) -> str:
        configured = self.database.url
        if configured is not None:
            return configured.get_secret_value()
        return f"sqlite+pysqlite:///{self.store_path}"

    @property
    def auto_upgrade(self) -> bool:
        if self.database.auto_upgrade is not None:
            return self.database.auto_upgrade
        return self.database_url.startswith("sqlite")

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def web_dir(self) -> Path:
        """Fetched copies of URL documents, the indexed version of each."""
        return self.data_dir / "web"
