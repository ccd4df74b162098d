"""Documents: upload, list, read, download, delete, ACLs; folder sources to sync.

Everything goes through the document's ACL, for every role: a document the caller may
not read is "not found", indistinguishable from one that does not exist, and editors
manage (delete, re-permission) only documents they can read. Editors and admins see the
ACL of what they can read.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import FileResponse

from kenning.api.deps import ClientDep, ComponentsDep, Editor, Reader
from kenning.api.schemas import (
    NAME,
    AclBody,
    DocumentOut,
    JobOut,
    PassageContext,
    SourceCreate,
    SourceOut,
)
from kenning.auth.models import Caller, Permission
from kenning.errors import InvalidInputError, NotFoundError
from kenning.ingest.web import AddressPolicy, normalize_url
from kenning.jobs import Job, JobKind
from kenning.jobs.sources import Source, allowed_folder
from kenning.jobs.work import upload_path
from kenning.pipelines.indexing import file_sha256
from kenning.pipelines.web_sync import forget_copies, indexed_copy, is_url
from kenning.types import Acl, Document
from kenning.wiring import Components

router = APIRouter(prefix="/v1", tags=["documents"])
MAX_FILES = 100
MAX_PASSAGE_CHARS = 50_000


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind.value,
        status=job.status.value,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        request=dict(job.request),
        report=dict(job.report),
        error=job.error,
        parts_total=job.parts_total,
        parts_done=job.parts_done,
    )


def readable(comps: Components, caller: Caller, document_id: str) -> Document:
    """The document if the caller may read it; otherwise NotFound (no existence leak)."""
    doc = comps.store.get_document(caller.user.tenant, document_id)
    if doc is None or not doc.acl.allows(caller.principal):
        raise NotFoundError(f"no document {document_id!r}")
    return doc


@router.get("/documents")
def list_documents(caller: Reader, comps: ComponentsDep) -> list[DocumentOut]:
    manager = caller.can(Permission.WRITE)
    docs = comps.store.list_documents(caller.user.tenant)
    return [DocumentOut.of(d, with_acl=manager) for d in docs if d.acl.allows(caller.principal)]


@router.post("/documents", status_code=202)
def upload(
    caller: Editor,
    comps: ComponentsDep,
    client: ClientDep,
    files: Annotated[list[UploadFile], File(description="One or more files")],
    acl: Annotated[list[str], Form(description="public, user:NAME or group:NAME")] = [],  # noqa: B006
) -> JobOut:
    """Store the files and ingest them in the background; poll the returned job."""
    if not files or len(files) > MAX_FILES:
        raise InvalidInputError(f"send 1 to {MAX_FILES} files")
    access = Acl.parse(acl)
    if any(not re.fullmatch(NAME, n) for n in access.users | access.groups):
        raise InvalidInputError("ACL names are 1-64 letters, digits, '.', '-', '_' or '@'")
    tenant = caller.user.tenant
    names = [_safe_name(f.filename) for f in files]  # all checked before any is stored
    paths = [_store_upload(comps, tenant, f, n) for f, n in zip(files, names, strict=True)]
    request = {"files": [p.name for p in paths], "acl": acl}
    job = comps.jobs.create(tenant, JobKind.UPLOAD, caller.user.username, request)
    comps.auth.repo.append_audit(
        tenant,
        caller.user.username,
        "document.upload",
        ",".join(p.name for p in paths),
        {"job_id": job.id, "acl": acl},
        client,
    )
    comps.job_queue.enqueue(job)
    return job_out(job)


def _safe_name(filename: str | None) -> str:
    """The file name without any directory part; refused if a file system would balk."""
    name = Path((filename or "").replace("\\", "/")).name.strip()
    if (
        not name
        or name.startswith(".")
        or len(name.encode("utf-8", "surrogatepass")) > 255
        or any(ord(ch) < 32 or ch == "\x7f" for ch in name)
    ):
        raise InvalidInputError(f"unusable file name {filename!r}")
    return name


def _store_upload(comps: Components, tenant: str, upload: UploadFile, name: str) -> Path:
    """Copy an upload into the tenant's upload folder: a temp file, then an atomic rename,
    so a half-received file is never ingested. The same file name replaces its document."""
    target = upload_path(comps.settings, tenant, name)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(upload.file, out, length=1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@router.get("/documents/{document_id}")
def get_document(document_id: str, caller: Reader, comps: ComponentsDep) -> DocumentOut:
    doc = readable(comps, caller, document_id)
    return DocumentOut.of(doc, with_acl=caller.can(Permission.WRITE))


@router.get("/documents/{document_id}/passage")
def passage(
    document_id: str,
    caller: Reader,
    comps: ComponentsDep,
    start: Annotated[int, Query(ge=0)],
    end: Annotated[int, Query(ge=0)],
    context: Annotated[int, Query(ge=0, le=5000)] = 600,
) -> PassageContext:
    """The span ``start:end`` of the parsed text (a citation's offsets) and up to
    ``context`` characters either side, so the cited text can be shown highlighted."""
    doc = readable(comps, caller, document_id)
    text = doc.text
    if not start <= end <= len(text) or end - start > MAX_PASSAGE_CHARS:
        raise InvalidInputError("those offsets are not a passage of this document's text")
    return PassageContext(
        document_id=doc.id,
        title=doc.title,
        source=doc.source,
        format=doc.format,
        start=start,
        end=end,
        before=text[max(0, start - context) : start],
        text=text[start:end],
        after=text[end : end + context],
        length=len(text),
    )


@router.get(
    "/documents/{document_id}/download",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(document_id: str, caller: Reader, comps: ComponentsDep) -> FileResponse:
    """The original file, only while it still is the version that was indexed."""
    doc = readable(comps, caller, document_id)
    path = indexed_copy(comps.settings, doc)
    if not path.is_file() or file_sha256(path) != doc.content_hash:
        raise NotFoundError("the original file is no longer available in the indexed version")
    filename = str(doc.metadata.get("filename", path.name))
    return FileResponse(path, filename=filename, media_type="application/octet-stream")


@router.delete("/documents/{document_id}", status_code=204)
def delete_document(
    document_id: str, caller: Editor, comps: ComponentsDep, client: ClientDep
) -> Response:
    doc = readable(comps, caller, document_id)
    comps.store.delete_documents(caller.user.tenant, [doc.id])
    path = indexed_copy(comps.settings, doc)
    if path.is_relative_to(comps.settings.uploads_dir) or is_url(doc.source):
        path.unlink(missing_ok=True)
    comps.auth.repo.append_audit(
        caller.user.tenant,
        caller.user.username,
        "document.delete",
        doc.id,
        {"source": doc.source},
        client,
    )
    return Response(status_code=204)


@router.get("/documents/{document_id}/acl")
def get_acl(document_id: str, caller: Editor, comps: ComponentsDep) -> AclBody:
    return AclBody.of(readable(comps, caller, document_id).acl)


@router.put("/documents/{document_id}/acl")
def set_acl(
    document_id: str, body: AclBody, caller: Editor, comps: ComponentsDep, client: ClientDep
) -> AclBody:
    doc = readable(comps, caller, document_id)
    acl = body.to_acl()
    comps.store.set_acl(caller.user.tenant, doc.id, acl)
    comps.auth.repo.append_audit(
        caller.user.tenant,
        caller.user.username,
        "document.acl",
        doc.id,
        {"before": AclBody.of(doc.acl).model_dump(), "after": AclBody.of(acl).model_dump()},
        client,
    )
    return AclBody.of(acl)


# -- sources -------------------------------------------------------------------------


def _source_out(s: Source) -> SourceOut:
    return SourceOut(
        id=s.id,
        kind=s.kind,
        location=s.location,
        acl=AclBody.of(s.acl),
        created_by=s.created_by,
        created_at=s.created_at,
        last_job_id=s.last_job_id,
        max_pages=s.max_pages,
    )


@router.get("/sources")
def list_sources(caller: Editor, comps: ComponentsDep) -> list[SourceOut]:
    return [_source_out(s) for s in comps.sources.list_for(caller.user.tenant)]


@router.post("/sources", status_code=201)
def add_source(
    body: SourceCreate, caller: Editor, comps: ComponentsDep, client: ClientDep
) -> SourceOut:
    """Register a server folder (inside ``api.source_roots``) or a web site folder (a URL:
    the page and what it links to under the same path); sync it to ingest."""
    location = _checked_location(comps, body.kind, body.location)
    source = comps.sources.add(
        caller.user.tenant,
        body.kind,
        location,
        body.acl.to_acl(),
        caller.user.username,
        body.max_pages,
    )
    comps.auth.repo.append_audit(
        caller.user.tenant, caller.user.username, "source.add", location, client=client
    )
    return _source_out(source)


def _checked_location(comps: Components, kind: str, location: str) -> str:
    if kind == "folder":
        return str(allowed_folder(location, comps.settings.api.source_roots))
    url = normalize_url(location)
    parts = urlsplit(url)
    policy = AddressPolicy(comps.settings.web.allow_networks)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    policy.resolve(parts.hostname or "", port)  # refused now, and again on every fetch
    return url


@router.post("/sources/{source_id}/sync", status_code=202)
def sync_source(source_id: str, caller: Editor, comps: ComponentsDep, client: ClientDep) -> JobOut:
    """Ingest new and changed files or pages and drop documents of removed ones."""
    tenant = caller.user.tenant
    source = comps.sources.get(tenant, source_id)
    if source.kind == "folder":  # refused now if it left the allowed roots or vanished
        allowed_folder(source.location, comps.settings.api.source_roots)
    job = comps.jobs.create(tenant, JobKind.SYNC, caller.user.username, {"source_id": source.id})
    comps.sources.set_last_job(source.id, job.id)
    comps.auth.repo.append_audit(
        tenant, caller.user.username, "source.sync", source.location, {"job_id": job.id}, client
    )
    comps.job_queue.enqueue(job)
    return job_out(job)


@router.delete("/sources/{source_id}", status_code=204)
def remove_source(
    source_id: str, caller: Editor, comps: ComponentsDep, client: ClientDep
) -> Response:
    """Unregister the source and delete its documents from the index."""
    tenant = caller.user.tenant
    source = comps.sources.get(tenant, source_id)
    versions = comps.store.versions(tenant, source_prefix=source.covers())
    comps.store.delete_documents(tenant, [v.document_id for v in versions.values()])
    if source.kind == "url":
        for url in versions:
            forget_copies(comps.settings, tenant, url)
    comps.sources.remove(tenant, source_id)
    comps.auth.repo.append_audit(
        tenant,
        caller.user.username,
        "source.remove",
        source.location,
        {"documents_deleted": len(versions)},
        client,
    )
    return Response(status_code=204)
