"""``kenning memories`` as an operator runs it: a real subprocess on a real data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def kenning(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(data), "memories", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=check,
        timeout=300,
    )


def listed(data: Path, user: str, tenant: str = "default") -> list[dict[str, Any]]:
    out = kenning(data, "list", "--user", user, "--tenant", tenant, "--json").stdout
    found: list[dict[str, Any]] = json.loads(out)
    return found


def test_add_list_and_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = json.loads(
        kenning(data, "add", "I work in the Lyon office", "--user", "ada", "--json").stdout
    )
    assert made["source"] == "explicit"
    kenning(data, "add", "I prefer short answers", "--user", "ada")
    kenning(data, "add", "I work in Tokyo", "--user", "ada", "--tenant", "globex")
    assert [m["text"] for m in listed(data, "ada")] == [
        "I prefer short answers",
        "I work in the Lyon office",
    ]
    assert listed(data, "vic") == []
    kenning(data, "delete", "--user", "ada", made["id"])
    assert [m["text"] for m in listed(data, "ada")] == ["I prefer short answers"]
    missing = kenning(data, "delete", "--user", "ada", made["id"], check=False)
    assert missing.returncode == 1
    assert "no memory" in missing.stderr
    both = kenning(data, "delete", "--user", "ada", made["id"], "--all", check=False)
    assert both.returncode == 1
    assert "deleted 1 memories of ada" in kenning(data, "delete", "--user", "ada", "--all").stdout
    assert listed(data, "ada") == []
    assert [m["text"] for m in listed(data, "ada", "globex")] == ["I work in Tokyo"]
