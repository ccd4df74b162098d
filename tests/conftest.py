"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.plugin", "tests.postgres"]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repo (or ``KENNING_SHARED_DATA``)."""
    env = os.environ.get("KENNING_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path}")
    return path
