from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.errors import StoreError
from kenning.store.sqlite import SQLiteStore
from tests.store.contract import SYSTEM, StoreContract, make_write


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        store = SQLiteStore(tmp_path / "kenning.db")
        store.warm_up()
        yield store
        store.close()


def test_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    SQLiteStore(path).warm_up()
    with sqlite3.connect(path) as conn:  # as if a newer Kenning had migrated it
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path).warm_up()


def test_second_process_view_sees_writes(tmp_path: Path) -> None:
    """The dense mirror refreshes when another connection writes (revision bump)."""
    path = tmp_path / "k.db"
    reader, writer = SQLiteStore(path), SQLiteStore(path)
    writer.replace_documents([make_write("/kb/a.md", ["one"], seed=1)])
    assert (
        len(
            reader.dense_search(
                make_write("/x", ["q"], seed=1).vectors[0].tolist(), principal=SYSTEM, k=5
            )
        )
        == 1
    )
    doc = make_write("/kb/b.md", ["two"], seed=2)
    writer.replace_documents([doc])
    writer.delete_documents("t1", [make_write("/kb/a.md", ["one"]).document.id])
    hits = reader.dense_search(doc.vectors[0].tolist(), principal=SYSTEM, k=5)
    assert [h.source for h in hits] == ["/kb/b.md"]


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path).warm_up()


def test_concurrent_first_open_migrates_once(tmp_path: Path) -> None:
    """Processes creating the same new store at one instant: one migrates, all work."""
    import subprocess
    import sys
    import time

    path = tmp_path / "k.db"
    start = str(time.time() + 3.0)  # after every process has imported: open at one instant
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from kenning.store.sqlite import SQLiteStore\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "store = SQLiteStore(Path(sys.argv[1]))\n"
        "store.warm_up()\n"
        "print(store.stats().documents)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    assert [out.strip() for out, _ in results] == ["0"] * 4
