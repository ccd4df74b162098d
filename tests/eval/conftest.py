"""Fixtures shared by the evaluation tests: where the real BEIR data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """``$KENNING_SHARED_DATA`` or ``<repo>/../shared/data`` (the team's data checkout)."""
    configured = os.environ.get("KENNING_SHARED_DATA")
    return (
        Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared" / "data"
    )


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    """The real BEIR SciFact folder; tests using it skip when the data is absent."""
    folder = shared_data_dir() / "beir" / "scifact"
    if not (folder / "corpus.jsonl").is_file():
        pytest.skip(f"BEIR SciFact not found at {folder} (set KENNING_SHARED_DATA)")
    return folder
