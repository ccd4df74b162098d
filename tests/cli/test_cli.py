"""The ``kenning`` command as a user runs it: a real subprocess, real files, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.website import FakeWebsite, html

pytestmark = pytest.mark.slow


def kenning(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kenning.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=check,
        timeout=300,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policy.md").write_text("# Travel policy\n\nThe hotel cap is 180 EUR per night.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    return docs


def test_ingest_search_ask_and_documents(tmp_path: Path, folder: Path) -> None:
    data = str(tmp_path / "data")
    summary = as_json(kenning("--data-dir", data, "ingest", str(folder), "--json"))
    assert (summary["added"], summary["failed"], summary["chunks"]) == (1, 1, 1)
    assert summary["errors"][0]["source"].endswith("broken.pdf")

    hits = as_json(
        kenning("--data-dir", data, "search", "hotel cap", "--json", "--mode", "keyword")
    )
    assert hits["hits"][0]["title"] == "Travel policy"
    assert hits["hits"][0]["section"] == ["Travel policy"]

    answer = as_json(
        kenning("--data-dir", data, "ask", "What is the hotel cap per night?", "--json")
    )
    assert answer["mode"] == "extractive"
    assert "180 EUR" in answer["answer"]
    assert answer["citations"][0]["source"].endswith("policy.md")

    docs = as_json(kenning("--data-dir", data, "documents", "list", "--json"))
    assert [d["title"] for d in docs] == ["Travel policy"]
    kenning("--data-dir", data, "documents", "delete", docs[0]["id"])
    assert as_json(kenning("--data-dir", data, "documents", "list", "--json")) == []


def test_data_dir_from_environment(tmp_path: Path, folder: Path) -> None:
    env = {"KENNING_DATA_DIR": str(tmp_path / "envdata")}
    kenning("ingest", str(folder / "policy.md"), "--json", env=env)
    assert (tmp_path / "envdata" / "kenning.db").exists()
    again = as_json(kenning("ingest", str(folder / "policy.md"), "--json", env=env))
    assert again["unchanged"] == 1


def test_clear_errors_and_exit_codes(tmp_path: Path, folder: Path) -> None:
    data = str(tmp_path / "data")
    missing = kenning("--data-dir", data, "ingest", str(tmp_path / "nope"), check=False)
    assert missing.returncode != 0
    assert "no such file or folder" in missing.stderr
    bad_acl = kenning("--data-dir", data, "ingest", str(folder), "--acl", "root", check=False)
    assert bad_acl.returncode != 0
    assert "bad ACL entry" in bad_acl.stderr
    only_broken = kenning("--data-dir", data, "ingest", str(folder / "broken.pdf"), check=False)
    assert only_broken.returncode == 2


def test_ingest_a_url_and_a_folder_together(tmp_path: Path, folder: Path) -> None:
    with FakeWebsite() as site:
        site.page("/wiki/home.html", html("Expenses", "Receipts are kept seven years zqreceipt."))
        data = str(tmp_path / "data")
        refused = as_json(
            kenning(
                "--data-dir", data, "ingest", site.url("/wiki/home.html"), "--json", check=False
            )
        )
        assert "non-public" in refused["errors"][0]["error"]
        allowed = {"KENNING_WEB__ALLOW_NETWORKS": '["127.0.0.1/32"]'}
        summary = as_json(
            kenning(
                "--data-dir",
                data,
                "ingest",
                site.url("/wiki/home.html"),
                str(folder),
                "--json",
                env=allowed,
            )
        )
    assert (summary["added"], summary["failed"]) == (2, 1)  # the page, policy.md; broken.pdf
    hits = as_json(kenning("--data-dir", data, "search", "zqreceipt", "--json"))
    assert hits["hits"][0]["source"] == site.url("/wiki/home.html")
