"""Ingestion end to end on the real parsers, chunker, embedder and SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path

from kenning.library import Kenning
from kenning.settings import IngestSettings, SearchMode, Settings
from kenning.types import Acl, Principal
from tests.pipelines.conftest import write_notes


def test_incremental_ingest_add_unchanged_update_sync(kb: Kenning, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    paths = write_notes(folder, 5)
    first = kb.ingest([folder])
    assert (first.added, first.failed, first.chunks) == (5, 0, 5)
    again = kb.ingest([folder])
    assert (again.added, again.unchanged, again.embedded_texts, again.chunks) == (0, 5, 0, 0)

    paths[0].write_text("# Note 0\n\nRewritten: the gizmo is codenamed qq77.\n")
    changed = kb.ingest([folder])
    assert (changed.updated, changed.unchanged) == (1, 4)
    assert kb.search("zq0x", mode=SearchMode.KEYWORD).hits == []
    assert kb.search("qq77", mode=SearchMode.KEYWORD).hits[0].source == str(paths[0])

    paths[1].unlink()
    kept = kb.ingest([folder])
    assert kept.deleted == 0
    assert len(kb.search("zq1x", mode=SearchMode.KEYWORD).hits) == 1
    synced = kb.ingest([folder], sync=True)
    assert synced.deleted == 1
    assert kb.search("zq1x", mode=SearchMode.KEYWORD).hits == []


def test_sync_only_touches_the_synced_folder(kb: Kenning, tmp_path: Path) -> None:
    write_notes(tmp_path / "a", 2)
    write_notes(tmp_path / "ab", 2, topic="gadget")  # shares the prefix "a"
    kb.ingest([tmp_path / "a", tmp_path / "ab"])
    shutil.rmtree(tmp_path / "a")
    (tmp_path / "a").mkdir()
    report = kb.ingest([tmp_path / "a"], sync=True)
    assert report.deleted == 2
    assert kb.components.store.stats().documents == 2


def test_bad_files_fail_alone_with_clear_errors(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write_notes(folder, 2)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    (folder / "empty.md").write_bytes(b"")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (folder / "huge.txt").write_text("word " * 5000)
    settings = Settings(data_dir=tmp_path / "data", ingest=IngestSettings(max_file_bytes=10_000))
    with Kenning(settings=settings) as kb:
        report = kb.ingest([folder])
    assert (report.added, report.failed) == (2, 4)
    errors = {Path(e["source"]).name: e["error"] for e in report.errors}
    assert "pdf" in errors["corrupt.pdf"].lower()
    assert "empty" in errors["empty.md"].lower()
    assert "png" in errors["image.png"].lower()
    assert "limit" in errors["huge.txt"]


def test_unreadable_update_keeps_previous_version(kb: Kenning, tmp_path: Path) -> None:
    source = tmp_path / "manual.md"
    source.write_text("# Manual\n\nThe reset button is blue.\n")
    kb.ingest([source])
    source.write_bytes(b"")  # the new version cannot be parsed
    report = kb.ingest([source])
    assert report.failed == 1
    assert kb.search("reset button", mode=SearchMode.KEYWORD).hits[0].source == str(source)


def test_acl_change_updates_without_reembedding(kb: Kenning, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write_notes(folder, 3)
    kb.ingest([folder])
    report = kb.ingest([folder], acl=Acl(public=False, groups=frozenset({"eng"})))
    assert (report.updated, report.embedded_texts) == (3, 0)
    outsider = Principal(tenant="default", user_id="eve")
    insider = Principal(tenant="default", user_id="ann", groups=frozenset({"eng"}))
    assert kb.search("zq2x", principal=outsider).hits == []
    assert kb.search("zq2x", principal=insider).hits[0].source.endswith("note-0002.md")


def test_duplicate_content_reuses_vectors_and_is_shown_once(kb: Kenning, tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "copy" / "a.md"
    b.parent.mkdir()
    a.write_text("# Policy\n\nLaptops are replaced every four years.\n")
    shutil.copy(a, b)
    report = kb.ingest([a, b])
    assert (report.added, report.embedded_texts) == (2, 1)
    hits = kb.search("laptops replaced", k=10).hits
    assert len(hits) == 1


def test_tenants_are_separate(kb: Kenning, tmp_path: Path) -> None:
    write_notes(tmp_path / "kb", 2)
    kb.ingest([tmp_path / "kb"], tenant="acme")
    assert kb.search("zq1x").hits == []
    assert kb.search("zq1x", principal=Principal.system("acme")).hits
