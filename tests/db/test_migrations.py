"""Schema migrations: the Alembic baseline upgrades pre-Alembic data directories in
place, servers refuse an outdated schema, and concurrent upgrades run once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kenning.api.app import create_app
from kenning.db.engine import SqlDatabase, sqlite_url
from kenning.db.migrations import current_revision, head_revision, upgrade
from kenning.errors import StoreError
from kenning.settings import DatabaseSettings, Settings
from kenning.store.sqlite_schema import MIGRATIONS, split_statements


def legacy_database(path: Path, version: int) -> None:
    """A file as an earlier Kenning left it: legacy scripts up to ``version``, and data."""
    with closing(sqlite3.connect(path)) as conn:
        for script in MIGRATIONS[:version]:
            for statement in split_statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', 1.0)")
        conn.execute(
            "INSERT INTO sources (id, tenant, kind, location, acl, created_by, created_at)"
            " VALUES ('s1', 'acme', 'folder', '/srv/docs', '{}', 'ada', 2.0)"
        )
        conn.commit()


@pytest.mark.parametrize("version", [3, len(MIGRATIONS)])
def test_a_pre_alembic_database_upgrades_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "kenning.db"
    legacy_database(path, version)
    db = SqlDatabase(sqlite_url(path), auto_upgrade=True)
    db.warm_up()
    assert current_revision(db.engine) == head_revision()
    row = db.fetchone("SELECT name FROM tenants WHERE id = 'acme'")
    assert row is not None
    assert row[0] == "Acme"
    source = db.fetchone("SELECT location, max_pages FROM sources WHERE id = 's1'")
    assert source is not None
    assert tuple(source) == ("/srv/docs", None)  # the column migration 4 added
    db.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_without_auto_upgrade_an_outdated_database_is_refused(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "kenning.db")
    strict = SqlDatabase(url, auto_upgrade=False)
    with pytest.raises(StoreError, match="kenning db upgrade"):
        strict.warm_up()
    assert upgrade(strict.engine) == head_revision()
    strict.warm_up()  # now at the code's revision
    strict.close()


def test_the_server_refuses_to_start_on_an_outdated_schema(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(auto_upgrade=False))
    with pytest.raises(StoreError, match="kenning db upgrade"), TestClient(create_app(settings)):
        pass
    result = subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(tmp_path / "data"), "serve"],
        capture_output=True,
        text=True,
        env={"KENNING_DATABASE__AUTO_UPGRADE": "false", "PATH": ""},
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "run `kenning db upgrade` first" in result.stderr


def test_upgrade_defaults_by_dialect() -> None:
    assert Settings().auto_upgrade is True
    server = Settings(database=DatabaseSettings(url="postgresql://k@db/kenning"))
    assert server.auto_upgrade is False
    assert server.database_url == "postgresql://k@db/kenning"


def test_db_commands(tmp_path: Path) -> None:
    def kenning(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "kenning.cli", "--data-dir", str(tmp_path), "db", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout

    assert '"current": null' in kenning("current", "--json")
    assert head_revision() in kenning("upgrade")
    assert '"up_to_date": true' in kenning("current", "--json")


def test_concurrent_upgrades_apply_each_revision_once(tmp_path: Path) -> None:
    path = tmp_path / "kenning.db"
    script = (
        "import sys; from kenning.db.engine import SqlDatabase, sqlite_url;"
        "from pathlib import Path;"
        "SqlDatabase(sqlite_url(Path(sys.argv[1])), auto_upgrade=True).warm_up()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'tenants'")
        assert tables.fetchone()[0] == 1
