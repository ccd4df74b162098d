from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.library import Kenning
from kenning.settings import Settings


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[Kenning]:
    with Kenning(settings=Settings(data_dir=tmp_path / "data")) as kb:
        yield kb


def write_notes(folder: Path, count: int, *, topic: str = "widget") -> list[Path]:
    """Small distinct Markdown files, each findable by its own rare word."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"note-{i:04}.md"
        path.write_text(
            f"# Note {i}\n\nThe {topic} number {i} is codenamed zq{i}x. "
            f"It ships in batch {i % 7} from plant {i % 3}.\n"
        )
        paths.append(path)
    return paths
