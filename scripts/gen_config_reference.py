"""Generate the configuration reference in docs/operations.md from the settings model.

    .venv/bin/python scripts/gen_config_reference.py          # rewrite the section
    .venv/bin/python scripts/gen_config_reference.py --check  # exit 1 if it is stale

Every field of ``kenning.settings.Settings`` becomes a row: its ``KENNING_*`` variable,
type, default and the docstring written under it in settings.py (read with ``ast``, since
the models do not keep attribute docstrings at run time). The section sits between two
HTML comments in docs/operations.md; tests/deploy/test_config_reference.py runs --check.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from kenning import settings as settings_module
from kenning.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations.md"
START = "<!-- config-reference:start (scripts/gen_config_reference.py) -->"
END = "<!-- config-reference:end -->"
PREFIX = "KENNING_"
HEADER = "| variable | type | default | limits | meaning |"
RULE = "|---|---|---|---|---|"


def attribute_docs() -> dict[str, dict[str, str]]:
    """Class name → field name → the string literal right under the field."""
    tree = ast.parse(Path(inspect.getfile(settings_module)).read_text())
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for prev, item in zip(node.body, node.body[1:], strict=False):
            if (isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name)
                    and isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)
                    and isinstance(item.value.value, str)):
                fields[prev.target.id] = inspect.cleandoc(item.value.value)
        docs[node.name] = fields
    return docs


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return " | ".join(type_name(a) for a in get_args(annotation))
    if origin is not None:
        inner = ", ".join(type_name(a) for a in get_args(annotation))
        return f"{origin.__name__}[{inner}]"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " / ".join(str(m.value) for m in annotation)
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        factory = field.default_factory
        name = getattr(factory, "__name__", "factory")
        doc = inspect.getdoc(factory)
        return f"`{name}()`" + (f": {doc.split(chr(10))[0].rstrip('.')}" if doc else "")
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def limits(field: FieldInfo) -> str:
    """The field's constraints (``Field(ge=..., le=..., pattern=...)``) as text."""
    found = []
    for item in field.metadata:
        for attr, sign in BOUNDS.items():
            if getattr(item, attr, None) is not None:
                found.append(f"{sign} {getattr(item, attr)}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            found.append(f"matches `{pattern}`")
    return ", ".join(found)


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rows(model: type[BaseModel], prefix: str, docs: dict[str, dict[str, str]]) -> list[str]:
    out: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((name, annotation))
            continue
        env = f"{prefix}{name.upper()}"
        doc = docs.get(model.__name__, {}).get(name, "")
        out.append(f"| `{env}` | {cell(type_name(annotation))} | {cell(default_text(field))} "
                   f"| {cell(limits(field))} | {cell(doc)} |")
    for name, section in nested:
        about = inspect.getdoc(section) or ""
        if section.__doc__ is None or section.__doc__ == BaseModel.__doc__:
            about = ""
        out += ["", f"#### `{name}` ({prefix}{name.upper()}__*)", ""]
        if about:
            out += [" ".join(about.split()), ""]
        out += [HEADER, RULE]
        out += rows(section, f"{prefix}{name.upper()}__", docs)
    return out


def reference() -> str:
    lines = [
        START,
        "",
        "Generated from `kenning.settings.Settings`; do not edit by hand. Nested sections",
        "use a double underscore; lists and tables are JSON (`KENNING_API__CORS_ORIGINS="
        "'[\"https://kb.example.com\"]'`).",
        "",
        HEADER,
        RULE,
        *rows(Settings, PREFIX, attribute_docs()),
        "",
        END,
    ]
    return "\n".join(lines)


def rewritten(text: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the markers {START!r} ... {END!r}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + reference() + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the docs are stale")
    args = parser.parse_args()
    current = DOC.read_text()
    wanted = rewritten(current)
    if args.check:
        if current != wanted:
            print(f"{DOC.relative_to(ROOT)} is stale: run scripts/gen_config_reference.py",
                  file=sys.stderr)
            raise SystemExit(1)
        return
    DOC.write_text(wanted)


if __name__ == "__main__":
    main()
