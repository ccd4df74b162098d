"""Memory tests: the API service fixtures of tests/api (SQLite and PostgreSQL), a real
embedder, and real SQLite service databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.db.engine import SqlDatabase, sqlite_url
from kenning.embedding import LocalEmbedder
from kenning.settings import Settings
from tests.api.conftest import (  # noqa: F401 - fixtures and the backend parametrisation
    database_backend,
    live_server,
    module_database,
    pytest_generate_tests,
    service,
    service_database,
)


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    """The packaged model, from the models cache the services use too."""
    found = LocalEmbedder(Settings().models_dir)
    found.warm_up()
    return found


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A real, migrated SQLite service database."""
    database = SqlDatabase(sqlite_url(tmp_path / "kenning.db"))
    database.warm_up()
    yield database
    database.close()
