"""Block builders shared by every parser, so all formats normalise text the same way.

Parsers describe *what* they found (a heading, a row of cells); these helpers decide how it
is spelled in the parsed text: whitespace collapsed inside paragraphs, code kept verbatim,
tables as `` | ``-separated rows, empty blocks dropped. Keeping that in one place is what
makes chunk offsets and citations behave identically whatever the source format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from kenning.errors import ParseError
from kenning.types import Block, BlockKind, ParsedDocument

CELL_SEPARATOR = " | "

# C0 controls (minus tab/newline/CR) and DEL: PDF and Office text sometimes carries them and
# they would otherwise end up inside citations.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Zero-width characters and soft hyphens are invisible but split words for the tokenizer.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def clean_inline(text: str) -> str:
    """Collapse every whitespace run (newlines, NBSP, tabs) to one space and drop controls."""
    return " ".join(_INVISIBLE.sub("", _CONTROL.sub("", text)).split())


def clean_code(text: str) -> str:
    """Keep code layout (indentation, line breaks) but drop trailing spaces and blank edges."""
    text = _TRAILING_SPACE.sub("", _CONTROL.sub("", text.replace("\r\n", "\n")))
    return text.strip("\n")


def text_block(
    text: str, kind: BlockKind = BlockKind.PARAGRAPH, *, page: int | None = None
) -> Block | None:
    """A paragraph or list item with normalised whitespace; ``None`` when nothing is left."""
    cleaned = clean_inline(text)
    return Block(kind=kind, text=cleaned, page=page) if cleaned else None


def heading_block(text: str, level: int, *, page: int | None = None) -> Block | None:
    """A heading clamped to levels 1-6, so the chunker's section stack stays well-formed."""
    cleaned = clean_inline(text)
    if not cleaned:
        return None
    return Block(kind=BlockKind.HEADING, text=cleaned, level=min(max(level, 1), 6), page=page)


def code_block(text: str, *, page: int | None = None) -> Block | None:
    """A code block whose text is kept line for line (only trailing whitespace trimmed)."""
    cleaned = clean_code(text)
    return Block(kind=BlockKind.CODE, text=cleaned, page=page) if cleaned.strip() else None


def table_rows(rows: Iterable[Sequence[str | None]]) -> list[list[str]]:
    """Normalise cells, drop empty rows and columns that are empty in every row.

    Columns are dropped only when empty everywhere, so the remaining cells keep their
    position under the header cell they belong to.
    """
    cleaned = [[clean_inline(cell or "") for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    width = max(len(row) for row in cleaned)
    padded = [row + [""] * (width - len(row)) for row in cleaned]
    keep = [col for col in range(width) if any(row[col] for row in padded)]
    return [[row[col] for col in keep] for row in padded]


def table_block(rows: Iterable[Sequence[str | None]], *, page: int | None = None) -> Block | None:
    """A TABLE block: one line per row, cells joined by `` | ``, first row as the header."""
    matrix = table_rows(rows)
    if not matrix:
        return None
    lines = [CELL_SEPARATOR.join(_trim_trailing(row)) for row in matrix]
    return Block(kind=BlockKind.TABLE, text="\n".join(lines), page=page, header=lines[0])


def _trim_trailing(row: list[str]) -> list[str]:
    """Trailing empty cells carry no meaning and would leave dangling separators."""
    end = len(row)
    while end > 1 and not row[end - 1]:
        end -= 1
    return row[:end]


def finish(
    blocks: Iterable[Block | None],
    *,
    title: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> ParsedDocument:
    """Assemble the document, refusing to return one without text (the parser contract)."""
    kept = tuple(block for block in blocks if block is not None and block.text.strip())
    if not kept:
        raise ParseError("no text")
    clean_title = clean_inline(title or "") or None
    return ParsedDocument(blocks=kept, title=clean_title, metadata=dict(metadata or {}))


def first_heading(blocks: Iterable[Block | None], max_level: int = 1) -> str | None:
    """The first heading at or above ``max_level``: the title when the format has no field."""
    for block in blocks:
        if block is not None and block.kind is BlockKind.HEADING and block.level <= max_level:
            return block.text
    return None
