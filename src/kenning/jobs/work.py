"""What a job does, rebuilt from its record alone.

A job row holds everything needed to run it (kind, tenant, request), so any process
that reaches the database and the data directory can do the work: the in-process
runner of the embedded default, or any ``kenning worker``. An upload names its files;
they live in the shared upload folder under a path derived from tenant and file name.

Two ways to run a job:
- ``inline_work``: the whole job in one call (the embedded runner; URL sources, which
  crawl page by page, everywhere).
- ``plan`` + ``ingest_part``: the files split into parts that workers ingest in
  parallel. Ingestion is idempotent by content hash and each store flush is one
  transaction, so a part that is run again after a crash re-embeds only what the crash
  lost, and two parts never touch the same document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kenning.jobs.repository import Job, JobKind
from kenning.jobs.runner import JobWork
from kenning.jobs.sources import Source, allowed_folder
from kenning.pipelines.indexing import IngestReport, NamedFile, discover
from kenning.settings import Settings
from kenning.types import Acl

if TYPE_CHECKING:
    from kenning.wiring import Components


def upload_path(settings: Settings, tenant: str, name: str) -> Path:
    """Where an uploaded file is kept: one folder per tenant and file name, so the same
    name replaces its document and names never collide across tenants."""
    tenant_key = hashlib.sha256(tenant.encode()).hexdigest()[:16]
    name_key = hashlib.sha256(name.encode()).hexdigest()[:16]
    return settings.uploads_dir / tenant_key / name_key / name


def job_source(comps: Components, job: Job) -> Source:
    return comps.sources.get(job.tenant, str(job.request["source_id"]))


def job_acl(comps: Components, job: Job) -> Acl:
    if job.kind is JobKind.UPLOAD:
        return Acl.parse(list(job.request.get("acl", [])))
    return job_source(comps, job).acl


def splits(job: Job, comps: Components) -> bool:
    """Whether the job fans out into parts: uploads and folder syncs; a URL source is
    one crawl."""
    return job.kind is JobKind.UPLOAD or job_source(comps, job).kind == "folder"


def inline_work(comps: Components, job: Job) -> JobWork:
    """The whole job as one call, returning its report."""
    indexer, tenant, acl = comps.indexer, job.tenant, job_acl(comps, job)
    if job.kind is JobKind.UPLOAD:
        paths = [upload_path(comps.settings, tenant, n) for n in job.request["files"]]
        return lambda: indexer.ingest_paths(paths, tenant=tenant, acl=acl).to_dict()
    source = job_source(comps, job)
    if source.kind == "url":
        from kenning.pipelines.web_sync import WebSync

        web = WebSync(indexer, comps.settings)
        return lambda: web.run(
            source.location, tenant=tenant, acl=acl, max_pages=source.max_pages
        ).to_dict()
    folder = allowed_folder(source.location, comps.settings.api.source_roots)
    return lambda: indexer.ingest_paths([folder], tenant=tenant, acl=acl, sync=True).to_dict()


Part = list[dict[str, Any]]
"""The files of one part: ``{"path": ..., "source": ...}`` each."""


def plan(comps: Components, job: Job, files_per_part: int) -> tuple[list[Part], dict[str, object]]:
    """The job's files in parts of at most ``files_per_part``, and the planning step's
    report: a folder sync deletes the documents of vanished files here, first."""
    report = IngestReport()
    if job.kind is JobKind.UPLOAD:
        paths = [upload_path(comps.settings, job.tenant, n) for n in job.request["files"]]
    else:
        folder = allowed_folder(job_source(comps, job).location, comps.settings.api.source_roots)
        paths = sorted(set(discover([folder])))
        comps.indexer.delete_vanished([folder], paths, tenant=job.tenant, report=report)
    files = [{"path": str(p), "source": str(p)} for p in paths]
    parts = [files[i : i + files_per_part] for i in range(0, len(files), files_per_part)]
    return parts, report.to_dict()


def ingest_part(
    comps: Components, job: Job, files: Sequence[Mapping[str, Any]]
) -> dict[str, object]:
    """Ingest one part's files; a file gone since planning is one ``failed`` line."""
    named = [NamedFile(Path(f["path"]), str(f["source"]), f.get("filename")) for f in files]
    report = comps.indexer.ingest_files(named, tenant=job.tenant, acl=job_acl(comps, job))
    return report.to_dict()
