"""Request and response bodies of the REST API (separate from the domain types)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kenning.auth.models import Permission, Role
from kenning.memory.longterm import Memory
from kenning.settings import SearchMode
from kenning.types import Acl, Answer, Citation, Document, Hit, Passage, SearchFilter

NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- auth -----------------------------------------------------------------------------


class LoginRequest(Strict):
    tenant: str = Field(default="default", max_length=64)
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class RefreshRequest(Strict):
    refresh_token: str = Field(max_length=4096)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


# -- accounts -------------------------------------------------------------------------


class UserOut(BaseModel):
    tenant: str
    username: str
    role: Role
    groups: list[str]
    superuser: bool
    active: bool


class UserCreate(Strict):
    username: str = Field(pattern=NAME)
    password: str = Field(min_length=10, max_length=1024)
    role: Role = Role.VIEWER
    groups: list[str] = Field(default=[], max_length=100)


class UserUpdate(Strict):
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class GroupCreate(Strict):
    name: str = Field(pattern=NAME)


class GroupOut(BaseModel):
    name: str
    members: list[str]


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Permission] = Field(default=[Permission.READ], min_length=1)
    days: int = Field(default=90, ge=1, le=3650)
    username: str | None = Field(default=None, pattern=NAME)
    """Whose key; only admins may create keys for someone else."""


class ApiKeyOut(BaseModel):
    id: str
    username: str
    name: str
    scopes: list[Permission]
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None


class ApiKeyCreated(ApiKeyOut):
    key: str
    """The full key: shown this once, stored only as a hash."""


class TenantCreate(Strict):
    id: str = Field(pattern=NAME)
    name: str = Field(min_length=1, max_length=200)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: float


class AuditOut(BaseModel):
    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    client: str


# -- documents and search -------------------------------------------------------------


class AclBody(Strict):
    public: bool = True
    users: list[Annotated[str, Field(pattern=NAME)]] = Field(default=[], max_length=1000)
    groups: list[Annotated[str, Field(pattern=NAME)]] = Field(default=[], max_length=1000)

    def to_acl(self) -> Acl:
        restricted = bool(self.users or self.groups)
        return Acl(
            public=self.public and not restricted,
            users=frozenset(self.users),
            groups=frozenset(self.groups),
        )

    @classmethod
    def of(cls, acl: Acl) -> AclBody:
        return cls(public=acl.public, users=sorted(acl.users), groups=sorted(acl.groups))


class DocumentOut(BaseModel):
    id: str
    source: str
    title: str
    format: str
    content_hash: str
    acl: AclBody | None = None
    """Shown to editors and admins only."""
    metadata: dict[str, str]

    @classmethod
    def of(cls, doc: Document, *, with_acl: bool) -> DocumentOut:
        return cls(
            id=doc.id,
            source=doc.source,
            title=doc.title,
            format=doc.format,
            content_hash=doc.content_hash,
            acl=AclBody.of(doc.acl) if with_acl else None,
            metadata={str(k): str(v) for k, v in doc.metadata.items()},
        )


class FilterBody(Strict):
    document_ids: list[str] | None = Field(default=None, max_length=1000)
    formats: list[str] | None = Field(default=None, max_length=20)
    source_prefix: str | None = Field(default=None, max_length=2000)
    metadata: dict[str, str] = Field(default={}, max_length=20)

    def to_filter(self) -> SearchFilter:
        return SearchFilter(
            document_ids=frozenset(self.document_ids) if self.document_ids is not None else None,
            formats=frozenset(self.formats) if self.formats is not None else None,
            source_prefix=self.source_prefix,
            metadata=dict(self.metadata),
        )


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(default=10, ge=1, le=100)
    mode: SearchMode | None = None
    filter: FilterBody | None = None


class HitOut(BaseModel):
    chunk_id: int
    document_id: str
    title: str
    source: str
    score: float
    rank: int
    text: str
    page: int | None
    section: list[str]
    start: int
    end: int

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        c = hit.chunk
        return cls(
            chunk_id=c.id,
            document_id=c.document_id,
            title=hit.document_title,
            source=hit.source,
            score=hit.score,
            rank=hit.rank,
            text=c.text,
            page=c.page,
            section=list(c.section),
            start=c.start,
            end=c.end,
        )


class SearchResponse(BaseModel):
    hits: list[HitOut]
    timings_ms: dict[str, float]


# -- chat -----------------------------------------------------------------------------


class ChatRequest(Strict):
    question: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, max_length=64)
    stream: bool = False
    filter: FilterBody | None = None


class PassageOut(BaseModel):
    number: int
    document_id: str
    title: str
    source: str
    text: str
    page: int | None
    section: list[str]
    start: int
    end: int

    @classmethod
    def of(cls, p: Passage) -> PassageOut:
        return cls(
            number=p.number,
            document_id=p.document_id,
            title=p.title,
            source=p.source,
            text=p.text,
            page=p.page,
            section=list(p.section),
            start=p.start,
            end=p.end,
        )


class CitationOut(BaseModel):
    number: int
    passage: PassageOut

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(number=c.number, passage=PassageOut.of(c.passage))


# -- memories -------------------------------------------------------------------------


class MemoryOut(BaseModel):
    id: str
    text: str
    source: Literal["explicit", "extracted"]
    """``explicit``: you asked for it; ``extracted``: the model picked it from a message."""
    created_at: float

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls(
            id=memory.id,
            text=memory.text,
            source=memory.source.value,
            created_at=memory.created_at,
        )


class MemoryCreate(Strict):
    text: str = Field(min_length=1, max_length=4000)


class MemoriesDeleted(BaseModel):
    deleted: int


class AnswerOut(BaseModel):
    answer_id: str | None
    """For feedback; None for a reply that was not an answer (a memory acknowledged)."""
    conversation_id: str | None
    question: str
    text: str
    mode: str
    abstained: bool
    citations: list[CitationOut]
    sources: list[PassageOut]
    groundedness: float
    evidence: float
    model: str | None
    notice: str | None
    search_query: str | None = None
    """What retrieval searched for when the question was a rewritten follow-up ("searched
    for: ..."); None when it searched for the question as asked."""
    memories_used: list[str] = []
    """Your long-term memories given to the model as context (never cited as sources)."""
    remembered: MemoryOut | None = None
    """Set when the message was "remember that ...": what was stored (nothing retrieved)."""
    forgotten: MemoryOut | None = None
    """Set when the message was "forget that ..." and a memory matched: what was deleted."""

    @classmethod
    def of(cls, answer: Answer, answer_id: str, conversation_id: str | None) -> AnswerOut:
        return cls(
            answer_id=answer_id,
            conversation_id=conversation_id,
            question=answer.question,
            text=answer.text,
            mode=answer.mode.value,
            abstained=answer.abstained,
            citations=[CitationOut.of(c) for c in answer.citations],
            sources=[PassageOut.of(p) for p in answer.sources],
            groundedness=answer.groundedness,
            evidence=answer.evidence,
            model=answer.model,
            notice=answer.notice,
            search_query=answer.search_query,
            memories_used=list(answer.memories),
        )


class FeedbackRequest(Strict):
    rating: Literal[-1, 1]
    comment: str = Field(default="", max_length=4000)


class EscalationRequest(Strict):
    reason: str = Field(default="", max_length=2000)


class EscalationOut(BaseModel):
    conversation_id: str
    escalated_at: float
    reason: str


class ConversationOut(BaseModel):
    id: str
    title: str
    created_at: float
    updated_at: float


class MessageOut(BaseModel):
    role: str
    content: str
    answer_id: str | None
    created_at: float
    search_query: str | None = None
    """On an answer to a rewritten follow-up: what retrieval searched for."""


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


# -- jobs and sources -----------------------------------------------------------------


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    created_by: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    request: dict[str, Any]
    report: dict[str, Any]
    error: str | None
    parts_total: int | None = None
    """Tasks the job was split into for parallel workers (server shape); None before
    planning, and for jobs that run whole."""
    parts_done: int = 0


class SourceCreate(Strict):
    kind: Literal["folder", "url"] = "folder"
    location: str = Field(min_length=1, max_length=4000)
    """A folder inside ``api.source_roots``, or an http(s) URL."""
    acl: AclBody = AclBody()
    max_pages: int | None = Field(default=None, ge=1, le=100_000)
    """URL sources: most pages one sync fetches (``web.max_pages`` caps it)."""


class SourceOut(BaseModel):
    id: str
    kind: str
    location: str
    acl: AclBody
    created_by: str
    created_at: float
    last_job_id: str | None
    max_pages: int | None = None


class PassageContext(BaseModel):
    """A cited span of a document's parsed text with the text around it, for display."""

    document_id: str
    title: str
    source: str
    format: str
    start: int
    end: int
    before: str
    text: str
    after: str
    length: int
    """Length of the whole parsed text, so a viewer can tell where the excerpt sits."""
