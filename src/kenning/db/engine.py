"""Short transactions over one SQLAlchemy engine, for SQLite and PostgreSQL alike.

Why SQLAlchemy and not the drivers directly: one pooled, thread-safe engine per process
on both dialects, one exception type for constraint violations, and Alembic (which needs
an engine) for migrations. Repositories still write SQL by hand: it is short, portable
(``ON CONFLICT DO NOTHING``, ``RETURNING`` and ``coalesce`` exist on both), and reads
better than an expression tree. They write ``?`` placeholders; ``Sql.execute`` turns them
into named bind parameters, so one statement runs on either driver.

SQLite specifics: WAL (readers never block the writer), ``synchronous=NORMAL`` (survives
a killed process), foreign keys on, and write transactions that take the write lock at
``BEGIN IMMEDIATE``, so two writers queue on the busy timeout instead of failing on a
lock upgrade.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from kenning.errors import StoreError

__all__ = ["IntegrityError", "Sql", "SqlDatabase", "enable_wal", "sqlite_url"]

_BUSY_TIMEOUT_S = 30.0


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


class Sql:
    """A connection inside one transaction, taking ``?`` placeholders."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> CursorResult[Any]:
        if isinstance(params, Mapping):
            return self.conn.execute(text(sql), dict(params))
        parts = sql.split("?")
        if len(parts) - 1 != len(params):
            raise ValueError(f"{len(parts) - 1} placeholders, {len(params)} parameters")
        named = "".join(f"{part}:p{i}" if i < len(params) else part for i, part in enumerate(parts))
        return self.conn.execute(text(named), {f"p{i}": v for i, v in enumerate(params)})


class SqlDatabase:
    """The service database: an engine, a schema check, and read/write transactions."""

    def __init__(self, url: str, *, auto_upgrade: bool = True) -> None:
        self.url = url
        self.auto_upgrade = auto_upgrade
        self.engine = _make_engine(url)
        self._ready = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def warm_up(self) -> None:
        """Upgrade the schema (``auto_upgrade``) or refuse to run on an outdated one."""
        if self._ready:
            return
        from kenning.db.migrations import ensure_schema  # migrations import this module

        try:
            ensure_schema(self.engine, auto_upgrade=self.auto_upgrade)
        except DBAPIError as exc:  # not a database, unreachable server, bad credentials
            reason = exc.orig if exc.orig is not None else exc
            raise StoreError(f"cannot open the database {self._shown_url}: {reason}") from exc
        self._ready = True

    @property
    def _shown_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query (plain tuples), read in its own transaction."""
        with self.read() as conn:
            return [tuple(row) for row in conn.execute(sql, params)]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.read() as conn:
            row = conn.execute(sql, params).fetchone()
            return None if row is None else tuple(row)

    @contextmanager
    def read(self) -> Iterator[Sql]:
        """A read transaction: one consistent snapshot for everything read inside it."""
        self.warm_up()
        with self.engine.connect() as conn, conn.begin():
            yield Sql(conn)

    @contextmanager
    def write(self) -> Iterator[Sql]:
        """A write transaction, committed on success and rolled back on any error."""
        self.warm_up()
        with (
            self.engine.connect().execution_options(kenning_write=True) as conn,
            conn.begin(),
        ):
            yield Sql(conn)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _sqlite_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun explicitly, below
    enable_wal(dbapi_conn)
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")
    dbapi_conn.execute("PRAGMA foreign_keys = ON")


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("kenning_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def enable_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL, retrying briefly: the switch can fail with "database is locked"
    without waiting when several processes open a new database at the same moment."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise StoreError(f"cannot open the database: {exc}") from exc
            time.sleep(0.05)
