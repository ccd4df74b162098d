"""The document store's raw access to its SQLite file: a connection per thread, WAL.

The store's hot paths (bulk chunk writes, loading hits) use ``sqlite3`` directly; the
service repositories reach the same file through SQLAlchemy (``kenning.db``). One file
means one backup copies everything, and one Alembic history versions it: ``warm_up``
upgrades the schema (embedded default) or refuses an outdated one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kenning.db.engine import SqlDatabase, enable_wal, sqlite_url
from kenning.errors import StoreError


class Database:
    """Thread-safe access to one SQLite file; migrated on first use."""

    def __init__(self, path: Path, *, auto_upgrade: bool = True) -> None:
        self.path = path
        self.auto_upgrade = auto_upgrade
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    def warm_up(self) -> None:
        with self._ready_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            schema = SqlDatabase(sqlite_url(self.path), auto_upgrade=self.auto_upgrade)
            try:
                schema.warm_up()
            finally:
                schema.close()
            self._ready = True

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def read(self) -> sqlite3.Connection:
        self.warm_up()
        return self._conn()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, rolled back on any error."""
        self.warm_up()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30.0, check_same_thread=False
            )
            enable_wal(conn)
            # NORMAL under WAL survives a killed process (not a power cut) and is much faster.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        return conn
