"""Backups of the embedded data directory, and restoring them into a fresh one.

The embedded shape keeps everything in one directory (``Settings.data_dir``): the SQLite
file holding documents, chunks, vectors, ACLs and the service tables (``kenning.db``), the
JWT signing key (``secrets/jwt.key``), uploaded files waiting for ingestion (``uploads/``)
and fetched web pages (``web/``). A backup is a directory with a copy of each and a
``manifest.json`` listing them with their SHA-256.

Why SQLite's online backup API and not a file copy: the store runs in WAL mode, so the
main file alone can miss committed transactions that still sit in ``kenning.db-wal``, and
a copy taken while a writer checkpoints can be torn. ``sqlite3.Connection.backup`` copies
a consistent snapshot of the database (WAL included) while the service keeps serving;
its ``-wal``/``-shm`` sidecars are therefore never copied. Every file that starts with the
SQLite header is backed up this way, so an index file added later is covered too.

The manifest is written last: a backup interrupted half-way has none and cannot be
restored. Restoring verifies every checksum before it touches the target, builds the new
directory beside the target and moves it into place, and refuses a non-empty target
unless forced (then the old directory is kept beside it, renamed, not deleted).

PostgreSQL (the server shape) is backed up with ``pg_dump``/``pg_restore``:
docs/operations.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from kenning.db.migrations import head_revision, known_revisions
from kenning.errors import ConfigurationError, ConflictError, InvalidInputError
from kenning.settings import Settings, StoreBackend

MANIFEST = "manifest.json"
FORMAT = 1
"""Version of the backup layout; restore refuses formats it does not know."""

_SQLITE_HEADER = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class BackedUpFile:
    path: str
    """Relative to the data directory, with forward slashes."""
    kind: str
    """``sqlite`` (copied with the online backup API) or ``file``."""
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    format: int
    kenning_version: str
    created_at: str
    schema_revision: str | None
    """Alembic revision of ``kenning.db`` when it was copied (None: no database yet)."""
    files: tuple[BackedUpFile, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def read(cls, backup: Path) -> Manifest:
        path = backup / MANIFEST
        if not path.is_file():
            raise InvalidInputError(f"{backup} is not a Kenning backup (no {MANIFEST})")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise InvalidInputError(
                f"backup format {data.get('format')!r} is not one this Kenning reads ({FORMAT})"
            )
        files = tuple(BackedUpFile(**f) for f in data["files"])
        return cls(FORMAT, data["kenning_version"], data["created_at"],
                   data["schema_revision"], files)


def embedded_only(settings: Settings) -> None:
    """Refuse the server shape: its state is in PostgreSQL, which ``pg_dump`` backs up."""
    if settings.store.backend is StoreBackend.POSTGRES or not settings.database_url.startswith(
        "sqlite"
    ):
        raise ConfigurationError(
            "kenning backup/restore cover the embedded SQLite data directory; back up "
            "PostgreSQL with pg_dump and pg_restore (docs/operations.md, Backups)"
        )


def backup(data_dir: Path, target: Path) -> Manifest:
    """Copy ``data_dir`` into the new directory ``target``, safe while Kenning runs."""
    if not data_dir.is_dir():
        raise InvalidInputError(f"no data directory at {data_dir}")
    _require_empty(target, force=False)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = [_copy(data_dir, relative, target) for relative in _data_files(data_dir)]
    manifest = Manifest(
        FORMAT,
        version("kenning"),
        datetime.now(UTC).isoformat(timespec="seconds"),
        _schema_revision(target / "kenning.db"),
        tuple(files),
    )
    _write_private(target / MANIFEST, manifest.to_json())
    return manifest


def restore(backup_dir: Path, data_dir: Path, *, force: bool = False) -> Manifest:
    """Verify ``backup_dir`` and make it the data directory ``data_dir``.

    Returns the manifest. With ``force``, a non-empty ``data_dir`` is moved aside to
    ``<name>.before-restore-<time>`` (see ``replaced_path``) rather than deleted.
    """
    manifest = Manifest.read(backup_dir)
    _check_revision(manifest.schema_revision)
    for entry in manifest.files:
        _verify(backup_dir / entry.path, entry)
    _require_empty(data_dir, force=force)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=data_dir.parent))
    try:
        for entry in manifest.files:
            copied = staging / entry.path
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup_dir / entry.path, copied)
            _verify(copied, entry)
        _swap_in(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def replaced_path(data_dir: Path, when: datetime) -> Path:
    """Where ``restore --force`` keeps the directory it replaced."""
    return data_dir.with_name(f"{data_dir.name}.before-restore-{when:%Y%m%dT%H%M%S}")


def _data_files(data_dir: Path) -> list[str]:
    found = []
    for root, dirs, names in os.walk(data_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            if name.endswith(_SIDECARS) and (path.parent / _strip_sidecar(name)).is_file():
                continue  # its content is inside the online backup of the main file
            found.append(path.relative_to(data_dir).as_posix())
    return found


def _strip_sidecar(name: str) -> str:
    for suffix in _SIDECARS:
        name = name.removesuffix(suffix)
    return name


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _copy(data_dir: Path, relative: str, target: Path) -> BackedUpFile:
    source, copied = data_dir / relative, target / relative
    copied.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _is_sqlite(source):
        _sqlite_backup(source, copied)
        kind = "sqlite"
    else:
        shutil.copy2(source, copied)
        kind = "file"
    return BackedUpFile(relative, kind, copied.stat().st_size, _sha256(copied))


def _sqlite_backup(source: Path, copied: Path) -> None:
    """A consistent snapshot through the online backup API, checked before it counts."""
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(copied)
    try:
        src.backup(dst)
        (result,) = dst.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise ConflictError(f"the copy of {source.name} failed its check: {result}")
    finally:
        dst.close()
        src.close()
    copied.chmod(0o600)


def _schema_revision(database: Path) -> str | None:
    if not database.is_file():
        return None
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None  # a database from before Alembic: the baseline migration adopts it
    finally:
        conn.close()
    return str(row[0]) if row else None


def _check_revision(revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise ConfigurationError(
            f"the backup's schema is at revision {revision}, newer than this Kenning "
            f"(which knows up to {head_revision()}); restore it with a newer Kenning"
        )


def _verify(path: Path, entry: BackedUpFile) -> None:
    if not path.is_file():
        raise InvalidInputError(f"backup is incomplete: {entry.path} is missing")
    if path.stat().st_size != entry.bytes or _sha256(path) != entry.sha256:
        raise InvalidInputError(f"backup is damaged: {entry.path} does not match its checksum")


def _require_empty(directory: Path, *, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise ConflictError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ConflictError(f"{directory} is not empty (use --force to replace it)")


def _swap_in(staging: Path, data_dir: Path) -> None:
    """Move the restored tree into place; a replaced non-empty directory is kept aside."""
    if data_dir.is_dir():
        if any(data_dir.iterdir()):
            data_dir.rename(replaced_path(data_dir, datetime.now(UTC)))
        else:
            data_dir.rmdir()
    staging.chmod(0o700)
    staging.rename(data_dir)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
