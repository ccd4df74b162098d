"""A SIGKILL in the middle of an ingest leaves the store consistent; a re-run finishes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kenning.store.base import StoreStats
from kenning.store.sqlite import SQLiteStore
from tests.pipelines.conftest import write_notes

pytestmark = pytest.mark.slow


def _ingest_cmd(data_dir: Path, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kenning.cli",
        "--data-dir",
        str(data_dir),
        "ingest",
        str(folder),
        "--json",
    ]


def _assert_consistent(db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = conn.execute(
        "SELECT count(*) FROM documents d WHERE NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.doc_pk = d.pk)"
    ).fetchone()[0]
    assert orphans == 0, "a document without chunks: a half-written document"
    bad_vectors = conn.execute(
        "SELECT count(*) FROM chunks WHERE length(embedding) != 384 * 4"
    ).fetchone()[0]
    assert bad_vectors == 0, "a chunk without a whole vector"
    conn.close()


def _stats(db: Path) -> StoreStats:
    store = SQLiteStore(db)
    try:
        return store.stats()
    finally:
        store.close()


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write_notes(folder, 1200)
    data = tmp_path / "data"
    db = data / "kenning.db"
    with subprocess.Popen(
        _ingest_cmd(data, folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and _stats(db).documents > 0:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "ingest ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    partial = _stats(db)
    assert 0 < partial.documents < 1200
    _assert_consistent(db)

    rerun = subprocess.run(
        _ingest_cmd(data, folder), capture_output=True, text=True, check=True, timeout=600
    )
    assert '"failed": 0' in rerun.stdout
    _assert_consistent(db)
    final = _stats(db)
    assert (final.documents, final.chunks) == (1200, 1200)
