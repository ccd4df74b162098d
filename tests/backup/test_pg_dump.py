"""The documented PostgreSQL backup (docs/operations.md): pg_dump of a populated server
database, pg_restore into a new empty database, and the same question answered the same
way with the same citations from the restored one. The pg_dump/pg_restore binaries are
those of the pgserver wheel, the same PostgreSQL 16 that tests/postgres.py starts."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from kenning import Kenning
from kenning.settings import DatabaseSettings, Settings, StoreBackend, StoreSettings
from kenning.types import Answer
from tests.postgres import drop_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What does error E04 mean on the HX-200?"


def pg_bin(name: str) -> str:
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None
    assert spec.origin is not None
    return str(Path(spec.origin).parent / "pginstall" / "bin" / name)


def knowledge_base(dsn: str, data_dir: Path) -> Kenning:
    settings = Settings(
        data_dir=data_dir,
        store=StoreSettings(backend=StoreBackend.POSTGRES),
        database=DatabaseSettings(url=SecretStr(dsn)),
    )
    return Kenning(settings=settings)


def cited(answer: Answer) -> list[tuple[Any, ...]]:
    return [(c.number, c.passage.document_id, c.passage.title, c.passage.page,
             c.passage.start, c.passage.end, c.passage.text) for c in answer.citations]


def test_pg_dump_and_restore_give_the_same_answer(
    postgres_server: Any, service_dsn: str, tmp_path: Path,
) -> None:
    with knowledge_base(service_dsn, tmp_path / "a") as kb:
        assert kb.ingest([ROOT / "examples"]).added > 0
        before = kb.ask(QUESTION)
    assert before.citations

    dump = tmp_path / "kenning.dump"
    subprocess.run([pg_bin("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}",
                    service_dsn], check=True, capture_output=True, timeout=120)
    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE kenning_restored TEMPLATE template0")
    try:
        restored = str(postgres_server.get_uri("kenning_restored"))
        subprocess.run([pg_bin("pg_restore"), "--no-owner", "--exit-on-error",
                        f"--dbname={restored}", str(dump)],
                       check=True, capture_output=True, timeout=120)
        with knowledge_base(restored, tmp_path / "b") as kb:
            after = kb.ask(QUESTION)
            # A server process starts on it: the schema is at head, not merely present.
            kb.components.db.warm_up()
    finally:
        drop_database(postgres_server, "kenning_restored")
    assert after.text == before.text
    assert cited(after) == cited(before)
    assert [p.document_id for p in after.sources] == [p.document_id for p in before.sources]
