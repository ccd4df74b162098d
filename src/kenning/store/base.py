"""The Store interface: documents, chunks, vectors and ACLs, with filtered search.

Contract (every backend passes ``tests/store/contract.py``):

Identity and writes
- A document is identified by ``Document.id`` (stable per tenant and source). Writing a
  document with ``replace_documents`` replaces it *atomically*: afterwards a reader sees
  either the old chunks or the new ones, never both and never neither, even if the process
  is killed mid-write. Several documents may be written in one call; each is atomic.
- ``delete_documents`` removes documents with their chunks, vectors and ACL entries.
  Deleted documents never come back in search results.
- Every write bumps a revision, so caches (the dense index) know to refresh.

Search
- ``keyword_scores`` ranks chunks by BM25 over ``indexed_text``; ``dense_scores`` by
  cosine similarity to a unit-length query vector. Both return at most ``k``
  ``(chunk id, score)`` pairs, best first, higher is better; ``load_hits`` turns the
  pairs a caller keeps (after fusion) into ``Hit``s. ``keyword_search`` and
  ``dense_search`` do both steps at once.
- Both are *pre-filtered*: only chunks of the principal's tenant whose document ACL admits
  the principal, ANDed with the caller's ``SearchFilter``, are candidates. Filtering happens
  inside the query, so a selective filter never loses recall (no post-filter of a top-k).
- Another tenant's data is never returned, whatever the filter says.

Errors
- ``StoreError`` for an unusable store (corrupt file, newer schema, another embedding
  model than the one the index was built with); ``InvalidFilterError`` for a bad filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kenning.embedding.base import Vector, Vectors
from kenning.types import Acl, Chunk, ChunkDraft, Document, Hit, Principal, SearchFilter

ScoredChunk = tuple[int, float]
"""A chunk id with a score from one retrieval leg; loaded into a ``Hit`` only if kept."""


@dataclass(frozen=True, slots=True)
class DocumentWrite:
    """One document with its chunks and their vectors (one row per chunk, same order)."""

    document: Document
    chunks: Sequence[ChunkDraft]
    vectors: Vectors


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What incremental sync needs to know about a stored document, without its text."""

    document_id: str
    content_hash: str
    acl: Acl


@dataclass(frozen=True, slots=True)
class StoreStats:
    documents: int
    chunks: int
    tenants: int


class HitSearch:
    """``keyword_search``/``dense_search`` for a backend that provides the scored legs
    and ``load_hits``: both backends derive them the same way, so they inherit them."""

    def keyword_scores(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        raise NotImplementedError

    def dense_scores(
        self,
        vector: Sequence[float],
        *,
        principal: Principal,
        k: int,
        filter: SearchFilter | None = None,
    ) -> list[ScoredChunk]:
        raise NotImplementedError

    def load_hits(self, principal: Principal, scored: Sequence[ScoredChunk]) -> list[Hit]:
        raise NotImplementedError

    def keyword_search(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[Hit]:
        scored = self.keyword_scores(query, principal=principal, k=k, filter=filter)
        return self.load_hits(principal, scored)

    def dense_search(
        self,
        vector: Sequence[float],
        *,
        principal: Principal,
        k: int,
        filter: SearchFilter | None = None,
    ) -> list[Hit]:
        scored = self.dense_scores(vector, principal=principal, k=k, filter=filter)
        return self.load_hits(principal, scored)


class Store(Protocol):
    def warm_up(self) -> None:
        """Open (and create or migrate) the store. Idempotent."""

    def close(self) -> None: ...

    def bind_embedder(self, name: str, dimensions: int) -> None:
        """Record which embedding model the index is built with; refuse another one."""

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> int:
        """Insert or replace each document atomically; returns the number of chunks written."""

    def delete_documents(self, tenant: str, document_ids: Sequence[str]) -> int:
        """Delete documents of ``tenant`` by id; returns how many existed."""

    def set_acl(self, tenant: str, document_id: str, acl: Acl) -> None:
        """Replace a document's ACL; ``NotFoundError`` if it does not exist."""

    def get_document(self, tenant: str, document_id: str) -> Document | None: ...

    def list_documents(self, tenant: str, *, source_prefix: str | None = None) -> list[Document]:
        """Documents of a tenant (text omitted), ordered by source."""

    def versions(
        self, tenant: str, *, source_prefix: str | None = None
    ) -> dict[str, StoredVersion]:
        """Map source → stored version, for deciding what changed on re-ingest."""

    def cached_vectors(self, text_hashes: Sequence[str]) -> Mapping[str, Vector]:
        """Vectors already stored for chunks with these ``indexed_text`` hashes."""

    def get_chunks(self, tenant: str, chunk_ids: Sequence[int]) -> list[Chunk]: ...

    def keyword_search(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[Hit]: ...

    def dense_search(
        self,
        vector: Sequence[float],
        *,
        principal: Principal,
        k: int,
        filter: SearchFilter | None = None,
    ) -> list[Hit]: ...

    def keyword_scores(
        self, query: str, *, principal: Principal, k: int, filter: SearchFilter | None = None
    ) -> list[ScoredChunk]: ...

    def dense_scores(
        self,
        vector: Sequence[float],
        *,
        principal: Principal,
        k: int,
        filter: SearchFilter | None = None,
    ) -> list[ScoredChunk]: ...

    def keyword_idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 idf of analysed ``terms`` (``analyzer.query_terms``) over every stored
        chunk, exactly as the keyword leg weighs them; terms no chunk holds are absent.
        Statistics are index-wide, like the keyword leg's, so they reveal no tenant's text."""

    def load_hits(self, principal: Principal, scored: Sequence[ScoredChunk]) -> list[Hit]:
        """Hits for ``scored`` in the given order; ids the principal may not read are
        dropped (a second, independent access check)."""

    def stats(self, tenant: str | None = None) -> StoreStats: ...
