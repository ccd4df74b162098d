"""Ingestion: files → parse → chunk → embed → store, incrementally and crash-safely.

Why it is shaped this way:
- Unchanged files are detected by a SHA-256 of their bytes *before* parsing, so a re-run
  over a large folder costs one read per file and no model time.
- Chunks of many documents are embedded together (the model is fastest on full, length-
  sorted batches); identical chunk texts already in the store reuse their vectors.
- Each flush writes its documents in one store transaction: a SIGKILL at any moment
  leaves every document either fully old or fully new, and the next run redoes the rest
  (its hashes no longer match).
- One bad file is one ``failed`` line in the report; it never stops the others, and its
  previously indexed version stays searchable.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from kenning.chunking import chunk_document
from kenning.embedding.base import Embedder, Vectors
from kenning.errors import KenningError
from kenning.ingest.parsers import parse_file
from kenning.settings import ChunkingSettings, IngestSettings
from kenning.store.base import DocumentWrite, Store, StoredVersion
from kenning.store.sqlite import text_hash
from kenning.types import Acl, ChunkDraft, Document, ParsedDocument

FLUSH_CHUNKS = 256


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FileEvent:
    """Progress of one file, reported as soon as its fate is known."""

    source: str
    outcome: Outcome
    done: int
    total: int
    error: str | None = None


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    embedded_texts: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def merge(self, other: IngestReport) -> IngestReport:
        """This report plus ``other`` (one summary for files and URLs ingested together)."""
        for name in ("added", "updated", "unchanged", "deleted", "failed", "chunks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("seconds", "embed_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.embedded_texts += other.embedded_texts
        self.errors.extend(other.errors)
        return self


ProgressCallback = Callable[[FileEvent], None]


@dataclass(frozen=True, slots=True)
class NamedFile:
    """A local file and the source name its document is stored under."""

    path: Path
    source: str
    filename: str | None = None
    """Shown to users and used for downloads; the path's own name when not given."""


@dataclass(slots=True)
class _Pending:
    document: Document
    chunks: list[ChunkDraft]
    outcome: Outcome


class Indexer:
    """Turns files (or already-parsed records) into stored, searchable chunks."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunking: ChunkingSettings,
        ingest: IngestSettings,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking = chunking
        self.ingest = ingest

    # -- files ---------------------------------------------------------------------------

    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        tenant: str,
        acl: Acl | None = None,
        sync: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest files and folders (recursively); with ``sync``, drop vanished files."""
        started = time.perf_counter()
        files = sorted(set(discover(paths)))
        report = self.ingest_files(
            [NamedFile(path, str(path)) for path in files],
            tenant=tenant,
            acl=acl,
            on_progress=on_progress,
        )
        if sync:
            self.delete_vanished(
                paths, files, tenant=tenant, report=report, on_progress=on_progress
            )
        report.seconds = time.perf_counter() - started
        return report

    def delete_vanished(
        self,
        roots: Sequence[Path],
        present: Sequence[Path],
        *,
        tenant: str,
        report: IngestReport,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """Delete stored documents under the folders ``roots`` whose file is not in
        ``present`` (a sync: the files found there now)."""
        versions = self.store.versions(tenant)
        self._delete_vanished(roots, present, tenant, versions, report, on_progress)

    def ingest_files(
        self,
        files: Sequence[NamedFile],
        *,
        tenant: str,
        acl: Acl | None = None,
        on_progress: ProgressCallback | None = None,
        report: IngestReport | None = None,
    ) -> IngestReport:
        """Ingest local files under the source names given (a path, or the URL a file
        was fetched from); a name already stored is updated in place."""
        started = time.perf_counter()
        acl = acl or Acl()
        report = report or IngestReport()
        versions = self.store.versions(tenant)
        batch = _Batch(self, report)
        for done, file in enumerate(files, start=1):
            stored = versions.get(file.source)
            outcome, error = self._ingest_file(file, tenant, acl, stored, batch)
            if outcome is not None:
                report.count(outcome)
            if error is not None:
                report.errors.append({"source": file.source, "error": error})
            if on_progress:
                event = FileEvent(file.source, outcome or Outcome.ADDED, done, len(files), error)
                on_progress(event)
        batch.flush()
        report.seconds += time.perf_counter() - started
        return report

    def _ingest_file(
        self, file: NamedFile, tenant: str, acl: Acl, stored: StoredVersion | None, batch: _Batch
    ) -> tuple[Outcome | None, str | None]:
        """Decide a file's fate; parsed files join the batch (counted when flushed)."""
        path = file.path
        try:
            size = path.stat().st_size
            if size > self.ingest.max_file_bytes:
                return Outcome.FAILED, (
                    f"file is {size:,} bytes, over the limit of {self.ingest.max_file_bytes:,}"
                )
            digest = file_sha256(path)
            if stored is not None and stored.content_hash == digest:
                if stored.acl == acl:
                    return Outcome.UNCHANGED, None
                self.store.set_acl(tenant, stored.document_id, acl)
                return Outcome.UPDATED, None
            parsed = parse_file(path, max_bytes=self.ingest.max_file_bytes)
            document = _document_for(file, tenant, acl, digest, parsed)
            outcome = Outcome.ADDED if stored is None else Outcome.UPDATED
            batch.add(_Pending(document, self._chunk(document, parsed), outcome))
        except KenningError as exc:
            return Outcome.FAILED, str(exc)
        except OSError as exc:
            return Outcome.FAILED, f"cannot read file: {exc.strerror or exc}"
        return None, None

    def _delete_vanished(
        self,
        roots: Sequence[Path],
        present: Sequence[Path],
        tenant: str,
        versions: dict[str, StoredVersion],
        report: IngestReport,
        on_progress: ProgressCallback | None,
    ) -> None:
        """Delete stored documents under a synced folder whose file is gone."""
        seen = {str(p) for p in present}
        folders = [str(r.resolve()) + "/" for r in roots if r.is_dir()]
        gone = [
            (source, v.document_id)
            for source, v in versions.items()
            if source not in seen and any(source.startswith(f) for f in folders)
        ]
        if gone:
            self.store.delete_documents(tenant, [doc_id for _, doc_id in gone])
        for i, (source, _) in enumerate(gone, start=1):
            report.count(Outcome.DELETED)
            if on_progress:
                on_progress(FileEvent(source, Outcome.DELETED, i, len(gone)))

    # -- records -------------------------------------------------------------------------

    def index_records(self, records: Iterable[tuple[Document, ParsedDocument]]) -> IngestReport:
        """Index already-parsed records (benchmarks, connectors); skips unchanged hashes."""
        started = time.perf_counter()
        report = IngestReport()
        batch = _Batch(self, report)
        known: dict[str, dict[str, StoredVersion]] = {}
        for document, parsed in records:
            if document.tenant not in known:  # once per tenant, not per record
                known[document.tenant] = self.store.versions(document.tenant)
            versions = known[document.tenant]
            stored = versions.get(document.source)
            if stored is not None and stored.content_hash == document.content_hash:
                report.count(Outcome.UNCHANGED)
                continue
            outcome = Outcome.ADDED if stored is None else Outcome.UPDATED
            batch.add(_Pending(document, self._chunk(document, parsed), outcome))
        batch.flush()
        report.seconds = time.perf_counter() - started
        return report

    # -- shared steps --------------------------------------------------------------------

    def _chunk(self, document: Document, parsed: ParsedDocument) -> list[ChunkDraft]:
        return chunk_document(
            parsed,
            title=document.title,
            count_tokens=self.embedder.count_tokens,
            max_tokens=min(self.chunking.max_tokens, self.embedder.max_tokens),
            target_tokens=self.chunking.target_tokens,
        )

    def embed_chunks(self, chunks: Sequence[ChunkDraft], report: IngestReport) -> Vectors:
        """Vectors for ``chunks``, reusing stored ones for identical texts."""
        hashes = [text_hash(c.indexed_text) for c in chunks]
        known = dict(self.store.cached_vectors(hashes))
        missing = {h: c.indexed_text for h, c in zip(hashes, chunks, strict=True) if h not in known}
        if missing:
            started = time.perf_counter()
            fresh = self.embedder.embed(list(missing.values()))
            report.embed_seconds += time.perf_counter() - started
            report.embedded_texts += len(missing)
            known.update(zip(missing, fresh, strict=True))
        dims = self.embedder.dimensions
        if not hashes:
            return np.empty((0, dims), dtype=np.float32)
        return np.stack([np.asarray(known[h], dtype=np.float32) for h in hashes])


class _Batch:
    """Parsed documents waiting to be embedded and written together."""

    def __init__(self, indexer: Indexer, report: IngestReport) -> None:
        self.indexer = indexer
        self.report = report
        self.items: list[_Pending] = []
        self.size = 0

    def add(self, item: _Pending) -> None:
        self.items.append(item)
        self.size += len(item.chunks)
        if self.size >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        all_chunks = [c for item in self.items for c in item.chunks]
        vectors = self.indexer.embed_chunks(all_chunks, self.report)
        writes, offset = [], 0
        for item in self.items:
            n = len(item.chunks)
            writes.append(DocumentWrite(item.document, item.chunks, vectors[offset : offset + n]))
            offset += n
        self.report.chunks += self.indexer.store.replace_documents(writes)
        for item in self.items:
            self.report.count(item.outcome)
        self.items, self.size = [], 0


def discover(paths: Sequence[Path]) -> Iterator[Path]:
    """Absolute paths of the files named or found (recursively) in ``paths``.

    Hidden files and folders (``.git``, ``.DS_Store``) are skipped; a missing path is an
    error for the whole call, since it is almost always a typo.
    """
    for given in paths:
        path = given.resolve()
        if path.is_file():
            yield path
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if found.is_file() and not any(part.startswith(".") for part in rel):
                    yield found
        else:
            raise FileNotFoundError(f"no such file or folder: {given}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _document_for(
    file: NamedFile, tenant: str, acl: Acl, digest: str, parsed: ParsedDocument
) -> Document:
    source = file.source
    filename = file.filename or file.path.name
    metadata = {**parsed.metadata, "filename": filename}
    return Document(
        id=Document.make_id(tenant, source),
        tenant=tenant,
        source=source,
        title=parsed.title or Path(filename).stem,
        content_hash=digest,
        format=str(parsed.metadata.get("format", file.path.suffix.lstrip(".").lower())),
        acl=acl,
        metadata=metadata,
        text=parsed.text,
    )
