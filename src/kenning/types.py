"""The nouns every stage shares: documents, parsed blocks, chunks, ACLs, principals, hits.

Plain frozen dataclasses: cheap to build, hashable where it matters, no I/O. Stages
exchange these and nothing else, so a backend can be swapped without touching callers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_TENANT = "default"


class BlockKind(StrEnum):
    """Structural role of a parsed block; the chunker never splits inside a heading."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    CODE = "code"


@dataclass(frozen=True, slots=True)
class Block:
    """One structural element of a parsed document, in reading order.

    ``level`` is the heading depth (1 = top) for headings and 0 otherwise. ``page`` is the
    1-based PDF page or PPTX slide the block comes from, when the format has pages. For a
    table, ``text`` is one line per row with cells separated by `` | ``, and ``header`` holds
    the header row (repeated by the chunker in every chunk of a split table).
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    header: str | None = None


BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """What a parser returns: the blocks of one file plus what it learned about it.

    The *parsed text* of a document is its blocks' texts joined by ``BLOCK_SEPARATOR``;
    chunk offsets point into that string, so citations can quote it exactly.
    """

    blocks: tuple[Block, ...]
    title: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return BLOCK_SEPARATOR.join(b.text for b in self.blocks)


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A chunk before it has an id: the chunker's output.

    ``text`` is exactly ``parsed_text[start:end]`` (what a citation quotes). ``indexed_text``
    is what gets embedded and keyword-indexed: the text with its context (document title,
    section path, a split table's header row) so a chunk is findable on its own.
    """

    ordinal: int
    text: str
    indexed_text: str
    start: int
    end: int
    page: int | None = None
    section: tuple[str, ...] = ()
    n_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Acl:
    """Who may read a document inside its tenant: everyone, or listed users and groups."""

    public: bool = True
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, specs: Sequence[str]) -> Acl:
        """Build from CLI-style specs: ``public``, ``user:alice``, ``group:eng``.

        No spec means tenant-wide (``public``); any user/group spec makes it restricted.
        """
        from kenning.errors import InvalidInputError

        users: set[str] = set()
        groups: set[str] = set()
        public = False
        for spec in specs:
            kind, _, name = spec.partition(":")
            if spec == "public":
                public = True
            elif kind == "user" and name:
                users.add(name)
            elif kind == "group" and name:
                groups.add(name)
            else:
                raise InvalidInputError(
                    f"bad ACL entry {spec!r}: use public, user:NAME or group:NAME"
                )
        if not specs:
            public = True
        return cls(public=public, users=frozenset(users), groups=frozenset(groups))

    def allows(self, principal: Principal) -> bool:
        if principal.is_system:
            return True
        return (
            self.public or principal.user_id in self.users or bool(self.groups & principal.groups)
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. Retrieval only ever returns chunks this principal may read.

    ``is_system`` is for local administration (CLI on the operator's machine, evaluations):
    it sees every document of its tenant, and never another tenant's.
    """

    tenant: str
    user_id: str | None = None
    groups: frozenset[str] = frozenset()
    is_system: bool = False

    @classmethod
    def system(cls, tenant: str = DEFAULT_TENANT) -> Principal:
        return cls(tenant=tenant, is_system=True)


@dataclass(frozen=True, slots=True)
class Document:
    """A source file (or record) as stored: identity, provenance, access, content hash."""

    id: str
    tenant: str
    source: str
    title: str
    content_hash: str
    format: str
    acl: Acl = Acl()
    metadata: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    @staticmethod
    def make_id(tenant: str, source: str) -> str:
        """Stable id from where the document comes from, so re-ingesting replaces it."""
        return hashlib.sha256(f"{tenant}\x00{source}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A stored chunk: a draft that belongs to a document and has a row id."""

    id: int
    document_id: str
    ordinal: int
    text: str
    indexed_text: str
    start: int
    end: int
    page: int | None = None
    section: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk with its score from one retriever (or fused), and its document's summary."""

    chunk: Chunk
    score: float
    document_title: str
    source: str
    rank: int = 0


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Caller-supplied restrictions, always ANDed with the principal's ACL, never instead.

    Every field is matched with bound parameters; metadata keys are checked against a
    strict pattern before they reach SQL.
    """

    document_ids: frozenset[str] | None = None
    formats: frozenset[str] | None = None
    source_prefix: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return (
            self.document_ids is None
            and self.formats is None
            and self.source_prefix is None
            and not self.metadata
        )


@dataclass(frozen=True, slots=True)
class Passage:
    """A numbered source in an answer's context: one or more merged chunks of a document.

    ``start``/``end`` are offsets into the document's parsed text and ``text`` is exactly
    that slice, so a citation can be shown and highlighted in the original.
    """

    number: int
    document_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    page: int | None = None
    section: tuple[str, ...] = ()
    chunk_ids: tuple[int, ...] = ()
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Citation:
    """A marker ``[number]`` in an answer and the passage it points to."""

    number: int
    passage: Passage


class AnswerMode(StrEnum):
    LLM = "llm"
    EXTRACTIVE = "extractive"
    ABSTAINED = "abstained"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the assistant says, how it knows, and how far to trust it.

    ``groundedness`` is the share of answer sentences supported by a passage they cite
    (see ``kenning.citations.groundedness``); ``evidence`` is the retrieval-strength score
    the abstention decision used.
    """

    question: str
    text: str
    mode: AnswerMode
    citations: tuple[Citation, ...] = ()
    sources: tuple[Passage, ...] = ()
    groundedness: float = 0.0
    evidence: float = 0.0
    model: str | None = None
    notice: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)
    search_query: str | None = None
    """What retrieval searched for when it was not the question itself (a rewritten
    follow-up, see ``kenning.memory.rewrite``)."""
    memories: tuple[str, ...] = ()
    """The user's long-term memories put into the prompt (context, never a source)."""

    @property
    def abstained(self) -> bool:
        return self.mode is AnswerMode.ABSTAINED
