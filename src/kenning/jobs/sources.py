"""Registered sources: server folders and web sites an editor asked Kenning to keep in sync.

Only folders inside the configured ``api.source_roots`` can be registered: the API must
not become a way to read arbitrary files of the server. URLs go through the SSRF guard of
``kenning.ingest.web`` when they are added and again on every fetch.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kenning.db.engine import IntegrityError, SqlDatabase
from kenning.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from kenning.ingest.crawl import scope_of
from kenning.types import Acl


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    tenant: str
    kind: str
    location: str
    acl: Acl
    created_by: str
    created_at: float
    last_job_id: str | None
    max_pages: int | None = None
    """URL sources: most pages one sync fetches (``web.max_pages`` when not set)."""

    def covers(self) -> str:
        """The source-name prefix of the documents this source produced."""
        if self.kind == "url":
            return scope_of(self.location)
        return self.location.rstrip("/") + "/"


def allowed_folder(location: str, roots: list[Path]) -> Path:
    """The resolved folder, if it lies inside one of ``roots``; otherwise an error."""
    try:
        folder = Path(location).resolve()
        inside = any(folder.is_relative_to(root.resolve()) for root in roots)
        if inside and not folder.is_dir():
            raise InvalidInputError(f"no folder {location}")
    except (ValueError, OSError) as exc:  # NUL bytes, over-long names
        raise InvalidInputError(f"unusable folder path: {exc}") from exc
    if not inside:
        raise PermissionDeniedError(
            "this folder is outside the source roots the server allows (api.source_roots)"
        )
    return folder


class SourceRepository:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def add(
        self,
        tenant: str,
        kind: str,
        location: str,
        acl: Acl,
        created_by: str,
        max_pages: int | None = None,
    ) -> Source:
        source = Source(
            secrets.token_hex(8),
            tenant,
            kind,
            location,
            acl,
            created_by,
            time.time(),
            None,
            max_pages,
        )
        with self.db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO sources"
                    " (id, tenant, kind, location, acl, created_by, created_at, max_pages)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        source.id,
                        tenant,
                        kind,
                        location,
                        _acl_json(acl),
                        created_by,
                        source.created_at,
                        max_pages,
                    ),
                )
            except IntegrityError as exc:
                raise ConflictError(f"{location} is already a source") from exc
        return source

    def get(self, tenant: str, source_id: str) -> Source:
        row = self.db.fetchone(
            "SELECT id, tenant, kind, location, acl, created_by, created_at, last_job_id,"
            " max_pages FROM sources WHERE id = ? AND tenant = ?",
            (source_id, tenant),
        )
        if row is None:
            raise NotFoundError(f"no source {source_id!r}")
        return _source(row)

    def list_for(self, tenant: str) -> list[Source]:
        rows = self.db.fetchall(
            "SELECT id, tenant, kind, location, acl, created_by, created_at, last_job_id,"
            " max_pages"
            " FROM sources WHERE tenant = ? ORDER BY created_at",
            (tenant,),
        )
        return [_source(r) for r in rows]

    def set_last_job(self, source_id: str, job_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE sources SET last_job_id = ? WHERE id = ?", (job_id, source_id))

    def remove(self, tenant: str, source_id: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM sources WHERE id = ? AND tenant = ?", (source_id, tenant)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no source {source_id!r}")


def _acl_json(acl: Acl) -> str:
    return json.dumps(
        {"public": acl.public, "users": sorted(acl.users), "groups": sorted(acl.groups)}
    )


def _source(row: Sequence[Any]) -> Source:
    acl = json.loads(row[4])
    return Source(
        id=row[0],
        tenant=row[1],
        kind=row[2],
        location=row[3],
        acl=Acl(
            public=acl["public"], users=frozenset(acl["users"]), groups=frozenset(acl["groups"])
        ),
        created_by=row[5],
        created_at=row[6],
        last_job_id=row[7],
        max_pages=row[8],
    )
