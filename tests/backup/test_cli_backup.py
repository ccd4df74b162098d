"""``kenning backup`` / ``kenning restore`` as an operator runs them: ingest the sample
documents, ask, back up, restore into a fresh directory, ask again: the same answer with
the same citations, and the service's own files (signing key, uploads) restored too."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import as_json, kenning

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "How many vacation days do employees get per year?"


def answer_of(data: Path) -> dict[str, Any]:
    answer: dict[str, Any] = as_json(kenning("--data-dir", str(data), "ask", QUESTION, "--json"))
    return answer


def cited(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["number"], c["document_id"], c["title"], c["source"], c["page"],
             tuple(c["section"]), c["start"], c["end"], c["text"])
            for c in answer["citations"]]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data = tmp_path_factory.mktemp("kb") / "data"
    summary = as_json(kenning("--data-dir", str(data), "ingest", str(ROOT / "examples"),
                              "--json"))
    assert summary["added"] > 0
    assert summary["failed"] == 0
    # Files the service keeps beside the database (written by `kenning serve` and uploads).
    (data / "secrets").mkdir(mode=0o700)
    (data / "secrets" / "jwt.key").write_text("k" * 64)
    (data / "secrets" / "jwt.key").chmod(0o600)
    (data / "uploads" / "job-1").mkdir(parents=True)
    (data / "uploads" / "job-1" / "manual.md").write_text("# Manual\n\nPress the red button.\n")
    answer = answer_of(data)
    assert answer["mode"] == "extractive"
    assert answer["citations"], answer
    return data, answer


def test_restored_directory_answers_the_same_with_the_same_citations(
    original: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    data, before = original
    backup = tmp_path / "backup"
    made = as_json(kenning("--data-dir", str(data), "backup", str(backup), "--json"))
    kinds = {f["path"]: f["kind"] for f in made["files"]}
    assert kinds == {"kenning.db": "sqlite", "secrets/jwt.key": "file",
                     "uploads/job-1/manual.md": "file"}
    assert made["schema_revision"]

    fresh = tmp_path / "restored"
    restored = as_json(kenning("--data-dir", str(fresh), "restore", str(backup), "--json"))
    assert restored["schema_revision"] == made["schema_revision"]
    after = answer_of(fresh)
    assert after["answer"] == before["answer"]
    assert cited(after) == cited(before)
    assert [s["document_id"] for s in after["sources"]] == [
        s["document_id"] for s in before["sources"]]
    assert (fresh / "secrets" / "jwt.key").read_text() == "k" * 64
    assert (fresh / "secrets" / "jwt.key").stat().st_mode & 0o777 == 0o600
    assert (fresh / "uploads/job-1/manual.md").read_text().startswith("# Manual")
    listed = as_json(kenning("--data-dir", str(fresh), "documents", "list", "--json"))
    original_list = as_json(kenning("--data-dir", str(data), "documents", "list", "--json"))
    assert listed == original_list


def test_restore_refuses_a_non_empty_directory_unless_forced(
    original: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    data, _ = original
    backup = tmp_path / "backup"
    kenning("--data-dir", str(data), "backup", str(backup))
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    refused = kenning("--data-dir", str(target), "restore", str(backup), check=False)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]

    kenning("--data-dir", str(target), "restore", str(backup), "--force")
    assert (target / "kenning.db").is_file()
    (kept,) = tmp_path.glob("busy.before-restore-*")
    assert (kept / "keep.txt").read_text() == "mine"


def test_a_damaged_backup_is_refused_before_anything_is_written(
    original: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    data, _ = original
    backup = tmp_path / "backup"
    kenning("--data-dir", str(data), "backup", str(backup))
    with (backup / "uploads/job-1/manual.md").open("a") as handle:
        handle.write("tampered")
    target = tmp_path / "target"
    refused = kenning("--data-dir", str(target), "restore", str(backup), check=False)
    assert refused.returncode == 1
    assert "uploads/job-1/manual.md does not match its checksum" in refused.stderr
    assert not target.exists()

    (backup / "manifest.json").unlink()
    refused = kenning("--data-dir", str(target), "restore", str(backup), check=False)
    assert "not a Kenning backup" in refused.stderr


def test_backup_refuses_to_overwrite_and_the_postgres_shape(
    original: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    data, _ = original
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    result = kenning("--data-dir", str(data), "backup", str(occupied), check=False)
    assert result.returncode == 1
    assert "not empty" in result.stderr
    result = kenning("--data-dir", str(data), "backup", str(tmp_path / "b"), check=False,
                     env={"KENNING_STORE__BACKEND": "postgres"})
    assert result.returncode == 1
    assert "pg_dump" in result.stderr


def test_manifest_checksums_describe_the_copied_files(
    original: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    import hashlib

    data, _ = original
    backup = tmp_path / "backup"
    kenning("--data-dir", str(data), "backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    for entry in manifest["files"]:
        blob = (backup / entry["path"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
        assert len(blob) == entry["bytes"]
    with sqlite3.connect(backup / "kenning.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    shutil.rmtree(backup)
