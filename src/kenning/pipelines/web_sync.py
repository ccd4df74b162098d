"""URL sources: crawl a site folder, keep a copy of each page, index it under its URL.

    start URL ─▶ robots.txt ─▶ fetch (SSRF guard, size cap) ─▶ copy in DATA_DIR/web
              ◀── in-scope links of HTML pages (breadth first, up to max_pages)
    copies ─▶ Indexer.ingest_files(source = URL) ─▶ delete documents gone from the site

Why a copy is kept: downloads must serve exactly the version that was indexed and cited,
and re-syncs compare the fetched bytes' hash with the stored one, so an unchanged page
costs one request and no model time. Deletion is conservative: a document under the
scope is deleted only when its page answered 404/410, or when a *complete* crawl (not cut
short by ``max_pages``) no longer links to it. A page that merely failed to load (timeout,
500) keeps its indexed version.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.robotparser
from collections import deque
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from kenning.errors import KenningError, UnsupportedFormatError
from kenning.ingest.crawl import in_scope, page_links, robots_rules, robots_url, scope_of
from kenning.ingest.parsers import SUPPORTED_FORMATS, format_for_suffix
from kenning.ingest.web import AddressPolicy, Fetched, WebFetcher, normalize_url
from kenning.pipelines.indexing import (
    FileEvent,
    Indexer,
    IngestReport,
    NamedFile,
    Outcome,
    ProgressCallback,
)
from kenning.settings import Settings
from kenning.types import Acl, Document

CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/plain": "txt",
    "message/rfc822": "eml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_GONE = ("HTTP 404", "HTTP 410")


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def copy_path(settings: Settings, tenant: str, url: str, fmt: str) -> Path:
    """Where the indexed copy of ``url`` lives (one file per URL and format)."""
    tenant_key = hashlib.sha256(tenant.encode()).hexdigest()[:16]
    url_key = hashlib.sha256(url.encode()).hexdigest()[:32]
    return settings.web_dir / tenant_key / f"{url_key}.{fmt}"


def forget_copies(settings: Settings, tenant: str, url: str) -> None:
    """Delete the kept copy of ``url`` whatever its format (no document lookup needed)."""
    for fmt in SUPPORTED_FORMATS:
        copy_path(settings, tenant, url, fmt).unlink(missing_ok=True)


def indexed_copy(settings: Settings, document: Document) -> Path:
    """The local file holding a document's indexed bytes: its path, or a URL's copy."""
    if is_url(document.source):
        return copy_path(settings, document.tenant, document.source, document.format)
    return Path(document.source)


def file_format(fetched: Fetched) -> str:
    """The parser format of a response: its content type, else its URL's extension."""
    by_type = CONTENT_TYPES.get(fetched.content_type)
    if by_type is not None:
        return by_type
    by_suffix = format_for_suffix(PurePosixPath(urlsplit(fetched.url).path).suffix)
    if by_suffix is not None:
        return by_suffix
    raise UnsupportedFormatError(
        f"{fetched.url}: content type {fetched.content_type or '(none)'} is not one of "
        f"the supported formats ({', '.join(SUPPORTED_FORMATS)})"
    )


class WebSync:
    """One sync of one URL source."""

    def __init__(self, indexer: Indexer, settings: Settings) -> None:
        self.indexer = indexer
        self.settings = settings

    def run(
        self,
        start_url: str,
        *,
        tenant: str,
        acl: Acl | None = None,
        max_pages: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        start = normalize_url(start_url)
        scope = scope_of(start)
        limit = min(max_pages or self.settings.web.max_pages, self.settings.web.max_pages)
        report = IngestReport()
        web = self.settings.web
        fetcher = WebFetcher(
            AddressPolicy(web.allow_networks),
            max_bytes=self.settings.ingest.max_file_bytes,
            timeout_s=web.timeout_s,
            max_redirects=web.max_redirects,
            user_agent=web.user_agent,
        )
        staging = self.settings.web_dir / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        with fetcher, tempfile.TemporaryDirectory(dir=staging) as tmp:
            crawl = _Crawl(self, fetcher, Path(tmp), tenant, scope, limit)
            crawl.run(start)
        for source, error in crawl.errors.items():
            report.count(Outcome.FAILED)
            report.errors.append({"source": source, "error": error})
            if on_progress:
                on_progress(FileEvent(source, Outcome.FAILED, len(report.errors), 0, error))
        self.indexer.ingest_files(
            crawl.files, tenant=tenant, acl=acl, on_progress=on_progress, report=report
        )
        self._delete_gone(tenant, scope, crawl, report, on_progress)
        report.seconds = time.perf_counter() - started
        return report

    def _delete_gone(
        self,
        tenant: str,
        scope: str,
        crawl: _Crawl,
        report: IngestReport,
        on_progress: ProgressCallback | None,
    ) -> None:
        stored = self.indexer.store.versions(tenant, source_prefix=scope)
        reached = {f.source for f in crawl.files}
        gone = [
            (source, version.document_id)
            for source, version in stored.items()
            if source not in reached
            and (
                any(marker in crawl.errors.get(source, "") for marker in _GONE)
                or (crawl.complete and source not in crawl.errors)
            )
        ]
        if gone:
            self.indexer.store.delete_documents(tenant, [doc_id for _, doc_id in gone])
        for i, (source, _) in enumerate(gone, start=1):
            forget_copies(self.settings, tenant, source)
            report.count(Outcome.DELETED)
            if on_progress:
                on_progress(FileEvent(source, Outcome.DELETED, i, len(gone)))


class _Crawl:
    """Breadth-first fetch of the pages under ``scope``, copies moved into place."""

    def __init__(
        self, sync: WebSync, fetcher: WebFetcher, tmp: Path, tenant: str, scope: str, limit: int
    ) -> None:
        self.sync = sync
        self.fetcher = fetcher
        self.tmp = tmp
        self.tenant = tenant
        self.scope = scope
        self.limit = limit
        self.files: list[NamedFile] = []
        self.errors: dict[str, str] = {}
        self.complete = True

    def run(self, start: str) -> None:
        rules = self._robots(start)
        queue, queued = deque([start]), {start}
        fetched = 0
        while queue:
            url = queue.popleft()
            if rules is not None and not rules.can_fetch(self.sync.settings.web.user_agent, url):
                self.errors[url] = "disallowed by robots.txt"
                continue
            if fetched >= self.limit:
                self.complete = False
                break
            fetched += 1
            try:
                page = self.fetcher.fetch(url, self.tmp)
            except KenningError as exc:
                self.errors[url] = str(exc)
                continue
            try:
                fmt = file_format(page)
                copy = self._keep(url, page, fmt)
            except (KenningError, OSError) as exc:
                self.errors[url] = str(exc)
                page.path.unlink(missing_ok=True)
                continue
            self.files.append(NamedFile(copy, url, _filename(url, fmt)))
            if fmt == "html" and in_scope(page.url, self.scope):
                for link in page_links(copy, page.url):
                    if in_scope(link, self.scope) and link not in queued:
                        queued.add(link)
                        queue.append(link)

    def _keep(self, url: str, page: Fetched, fmt: str) -> Path:
        """Move the fetched body to the URL's copy, atomically (a reader never sees half)."""
        copy = copy_path(self.sync.settings, self.tenant, url, fmt)
        copy.parent.mkdir(parents=True, exist_ok=True)
        os.replace(page.path, copy)
        return copy

    def _robots(self, start: str) -> urllib.robotparser.RobotFileParser | None:
        if not self.sync.settings.web.respect_robots:
            return None
        robots = robots_url(start)
        try:
            fetched = self.fetcher.fetch(robots, self.tmp, accept=("text/plain",))
        except KenningError:  # no robots.txt (404) or none reachable: nothing disallowed
            return robots_rules(None, robots)
        try:
            text = fetched.path.read_text("utf-8", errors="replace")
        finally:
            fetched.path.unlink(missing_ok=True)
        return robots_rules(text, robots)


def _filename(url: str, fmt: str) -> str:
    """A readable file name for a page: the last path segment, with the format's suffix."""
    name = unquote(PurePosixPath(urlsplit(url).path).name) or "index"
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "/\\")[:200] or "index"
    suffix = f".{fmt}"
    return name if name.lower().endswith(suffix) else f"{name}{suffix}"
