"""The backup library on what a file copy gets wrong: transactions still in the WAL,
sidecar files, a backup from a newer schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kenning import backup as backups
from kenning.errors import ConfigurationError
from kenning.store.sqlite_db import Database


def test_committed_rows_still_in_the_wal_are_in_the_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database(data / "kenning.db")
    db.warm_up()  # the real schema, WAL mode
    writer = sqlite3.connect(data / "kenning.db", isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE probe (v TEXT)")
    writer.execute("INSERT INTO probe VALUES ('committed, not checkpointed')")
    assert (data / "kenning.db-wal").stat().st_size > 0
    # A plain copy of the main file misses the row: what the online backup is for.
    (tmp_path / "plain.db").write_bytes((data / "kenning.db").read_bytes())
    with sqlite3.connect(tmp_path / "plain.db") as plain:
        assert not plain.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'probe'").fetchall()

    manifest = backups.backup(data, tmp_path / "backup")
    writer.close()
    db.close()
    assert [f.path for f in manifest.files] == ["kenning.db"]  # no -wal / -shm copies
    assert manifest.schema_revision is not None
    with sqlite3.connect(tmp_path / "backup" / "kenning.db") as copy:
        assert copy.execute("SELECT v FROM probe").fetchall() == [("committed, not checkpointed",)]


def test_a_backup_from_a_newer_kenning_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Database(data / "kenning.db").warm_up()
    backups.backup(data, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    manifest["schema_revision"] = "9999_from_the_future"
    (tmp_path / "backup" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigurationError, match="newer than this Kenning"):
        backups.restore(tmp_path / "backup", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_backup_and_manifest_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Database(data / "kenning.db").warm_up()
    backups.backup(data, tmp_path / "backup")
    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "backup" / "manifest.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "backup" / "kenning.db").stat().st_mode & 0o777 == 0o600
