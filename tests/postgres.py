"""A real PostgreSQL with pgvector for tests, started from the ``pgserver`` wheel.

``postgres_server`` (session) initialises a private cluster in a temp dir, reached over a
Unix socket; as root, pgserver runs it as a dedicated ``pgserver`` system user (see
docs/postgres.md). ``postgres_dsn`` gives every test a fresh database cloned from a
template that already has the ``vector`` extension, so tests never see each other's rows.
``service_dsn`` is the same, cloned from a second template that ``kenning db upgrade``
has already migrated (service tables and the job queue), for tests of the server shape.
Tests skip, with the reason, only if the server cannot be started here.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEMPLATE = "kenning_template"
MIGRATED = "kenning_migrated"
_counter = itertools.count()


def start_server(data_dir: Path) -> Any:
    """A running pgserver for ``data_dir``; pgserver warns at import that
    XDG_RUNTIME_DIR is unset (it then uses /tmp), which pytest would turn into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        return pgserver.get_server(data_dir, cleanup_mode="stop")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """Not under pytest's tmp_path: every pytest session on the machine re-chmods
    /tmp/pytest-of-<user> to 0700 and prunes old runs, which would lock the server's
    own user out of its data directory (or delete it) while another session runs."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg missing: pip install -e '.[dev]'")
    pytest.importorskip("pgserver", reason="pgserver missing: pip install -e '.[dev]'")
    data_dir = Path(tempfile.mkdtemp(prefix="kenning-pg-"))
    try:
        server = start_server(data_dir)
    except Exception as exc:  # any failure to start means: no PostgreSQL here
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.skip(f"PostgreSQL (pgserver) could not start: {exc}")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    with psycopg.connect(server.get_uri(TEMPLATE), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    yield server
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def postgres_dsn(postgres_server: Any) -> Iterator[str]:
    """A fresh, empty database (with pgvector) for one test; dropped afterwards."""
    name = clone_database(postgres_server, TEMPLATE)
    yield str(postgres_server.get_uri(name))
    drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def migrated_template(postgres_server: Any) -> str:
    """A template database at the head revision, migrated once per session through the
    same code path as ``kenning db upgrade``."""
    import psycopg

    from kenning.db.engine import SqlDatabase
    from kenning.db.migrations import upgrade

    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {MIGRATED} TEMPLATE {TEMPLATE}")
    db = SqlDatabase(str(postgres_server.get_uri(MIGRATED)), auto_upgrade=False)
    try:
        upgrade(db.engine)
    finally:
        db.close()
    return MIGRATED


def clone_database(server: Any, template: str) -> str:
    """A new database copied from ``template``; returns its name."""
    import psycopg

    name = f"kenning_test_{next(_counter)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


def drop_database(server: Any, name: str) -> None:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def service_dsn(postgres_server: Any, migrated_template: str) -> Iterator[str]:
    """A fresh database at the head revision for one test; dropped afterwards."""
    name = clone_database(postgres_server, migrated_template)
    yield str(postgres_server.get_uri(name))
    drop_database(postgres_server, name)
