"""The private PostgreSQL (pgserver wheel: PostgreSQL 16.2 + pgvector 0.6.2) that the
PostgreSQL benchmarks start in a cache folder; one copy for every bench script."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_server(data_dir: Path) -> Any:
    """pgserver warns at import that XDG_RUNTIME_DIR is unset (it then uses /tmp)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        return pgserver.get_server(data_dir, cleanup_mode="stop")


def ensure_database(server: Any, name: str) -> str:
    """The DSN of database ``name`` on ``server``, created on first use."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(name))
