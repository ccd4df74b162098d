"""Fixtures for parser tests: the shared document corpus, parsed once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kenning.ingest.parsers import parse_file
from kenning.types import ParsedDocument

MAX_BYTES = 50 * 1024 * 1024


@pytest.fixture(scope="session")
def docs_dir(shared_data: Path) -> Path:
    """The mixed-format corpus: ``$KENNING_SHARED_DATA/docs``, else ``../shared/data/docs``."""
    path = shared_data / "docs"
    if not path.is_dir():
        pytest.skip(f"shared document corpus not found at {path} (set KENNING_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def parsed(docs_dir: Path) -> Callable[[str], ParsedDocument]:
    """``parsed("pdf/x.pdf")``: parse a corpus file once per session (PDFs are slow)."""
    cache: dict[str, ParsedDocument] = {}

    def get(relative: str) -> ParsedDocument:
        if relative not in cache:
            cache[relative] = parse_file(docs_dir / relative, max_bytes=MAX_BYTES)
        return cache[relative]

    return get
