"""docs/operations.md's configuration reference is generated from the settings model and
must be current; and every KENNING_* variable the deployment files set is a real setting
(a misspelt one would be silently ignored: the settings model ignores unknown variables)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from kenning.settings import Settings
from tests.deploy.conftest import CHART, COMPOSE, DOCKERFILE, ROOT

SCRIPT = ROOT / "scripts" / "gen_config_reference.py"
VARIABLE = re.compile(r"\bKENNING_[A-Z0-9_]+")
NOT_SETTINGS = {"KENNING_PASSWORD"}  # read by `kenning users create`, not by Settings
COMPOSE_ONLY = re.compile(r"\$\{(KENNING_[A-Z0-9_]+)")  # compose's own interpolation inputs


def setting_variables(model: type[BaseModel] = Settings, prefix: str = "KENNING_") -> set[str]:
    found = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= setting_variables(annotation, f"{prefix}{name.upper()}__")
        else:
            found.add(f"{prefix}{name.upper()}")
    return found


def test_reference_is_current() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_reference_lists_every_setting() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    for variable in setting_variables():
        assert f"| `{variable}` |" in text, variable


def test_deployment_files_only_set_real_settings() -> None:
    known = setting_variables()
    files = [COMPOSE, DOCKERFILE, *sorted((CHART / "templates").iterdir()),
             CHART / "values.yaml"]
    for path in files:
        text = path.read_text()
        inputs = set(COMPOSE_ONLY.findall(text)) if path == COMPOSE else set()
        unknown = set(VARIABLE.findall(text)) - known - inputs - NOT_SETTINGS
        assert not unknown, f"{Path(path).relative_to(ROOT)}: {sorted(unknown)}"
