"""``kenning backup`` and ``kenning restore``: the embedded data directory, safely copied.

A backup runs while ``kenning serve`` keeps serving (SQLite's online backup API); a
restore needs the service stopped, since it replaces the directory the service has open.
The server shape (PostgreSQL) is backed up with pg_dump (docs/operations.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kenning import backup as backups
from kenning.cli.context import console, print_json, state


def backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="New (or empty) directory to write to.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Back up the data directory (store, service tables, keys, uploads) with checksums."""
    settings = state(ctx).settings
    backups.embedded_only(settings)
    manifest = backups.backup(settings.data_dir, path)
    if as_json:
        print_json(_summary(manifest, path))
        return
    size = sum(f.bytes for f in manifest.files)
    console.print(
        f"backed up {len(manifest.files)} files ({size / 1e6:.1f} MB, schema "
        f"{manifest.schema_revision or 'none'}) from {settings.data_dir} to {path}",
        highlight=False,
    )


def restore(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A directory written by `kenning backup`.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a non-empty data directory (kept aside, renamed)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Verify a backup's checksums and restore it as the data directory (service stopped)."""
    settings = state(ctx).settings
    backups.embedded_only(settings)
    manifest = backups.restore(path, settings.data_dir, force=force)
    if as_json:
        print_json(_summary(manifest, settings.data_dir))
        return
    console.print(
        f"restored {len(manifest.files)} files (Kenning {manifest.kenning_version}, "
        f"{manifest.created_at}) into {settings.data_dir}",
        highlight=False,
    )


def _summary(manifest: backups.Manifest, where: Path) -> dict[str, object]:
    return {
        "path": str(where),
        "kenning_version": manifest.kenning_version,
        "created_at": manifest.created_at,
        "schema_revision": manifest.schema_revision,
        "files": [{"path": f.path, "kind": f.kind, "bytes": f.bytes} for f in manifest.files],
    }
