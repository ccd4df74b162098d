"""State shared by CLI commands: settings and the lazily built components."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import NoReturn

import typer
from rich.console import Console

from kenning.settings import Settings
from kenning.wiring import Components

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    settings: Settings
    components: Components = field(init=False)

    def __post_init__(self) -> None:
        self.components = Components(self.settings)

    def close(self) -> None:
        self.components.close()


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise SystemExit(code)
