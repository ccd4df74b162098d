"""DOCX: body paragraphs and tables in document order via python-docx.

Headings come from paragraph styles ("Heading N", "Title"), list items from list styles
or numbering. Documents typed without any heading style (common in government and legal
text) fall back to treating short ALL-CAPS paragraphs as headings, so they still get
section paths. Merged table cells are repeated in every grid column they span, which
keeps each cell under its header; nested tables are flattened into their cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from kenning.ingest.parsers._blocks import (
    clean_inline,
    finish,
    first_heading,
    heading_block,
    table_block,
    text_block,
)
from kenning.types import Block, BlockKind, ParsedDocument

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_ENUMERATED = re.compile(r"^(?:[A-Z]|[IVX]+|\d+|\([a-z0-9]+\))[.)]?\s")
_MAX_CAPS_HEADING = 80


def parse_docx(path: Path) -> ParsedDocument:
    """Parse a Word document; the title is the core title, else the first heading."""
    document = docx.Document(str(path))
    styled = _uses_heading_styles(document)
    blocks: list[Block | None] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(_paragraph(item, styled))
        else:
            blocks.append(table_block(_table_rows(item)))
    props = document.core_properties
    metadata = {"author": props.author} if props.author else {}
    return finish(blocks, title=props.title or first_heading(blocks), metadata=metadata)


def _uses_heading_styles(document: DocxDocument) -> bool:
    """Whether any body paragraph has a Title/Heading style (else guess from capitals)."""
    return any(_style_heading_level(p) for p in document.paragraphs)


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _style_heading_level(paragraph: Paragraph) -> int:
    """1-9 for Title/Heading styles, 0 otherwise."""
    name = _style_name(paragraph)
    if name.lower() == "title":
        return 1
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else 0


def _paragraph(paragraph: Paragraph, styled: bool) -> Block | None:
    text = paragraph.text
    level = _style_heading_level(paragraph) if styled else _caps_heading_level(text)
    if level:
        return heading_block(text, level)
    if _is_list_item(paragraph):
        return text_block(text, BlockKind.LIST_ITEM)
    return text_block(text)


def _caps_heading_level(text: str) -> int:
    """Short ALL-CAPS paragraph: level 2 when enumerated ("A. PURPOSE"), else level 1."""
    cleaned = clean_inline(text)
    letters = [ch for ch in cleaned if ch.isalpha()]
    if len(letters) < 3 or len(cleaned) > _MAX_CAPS_HEADING or not cleaned.isupper():
        return 0
    return 2 if _ENUMERATED.match(cleaned) else 1


def _is_list_item(paragraph: Paragraph) -> bool:
    if "list" in _style_name(paragraph).lower():
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _table_rows(table: Table) -> list[list[str]]:
    return [[_cell_text(cell) for cell in row.cells] for row in table.rows]


def _cell_text(cell: _Cell) -> str:
    """Text of a cell, including any tables nested in it (flattened, row by row)."""
    return " ".join(_cell_parts(cell))


def _cell_parts(cell: _Cell) -> Iterator[str]:
    for item in cell.iter_inner_content():
        if isinstance(item, Paragraph):
            yield item.text
        else:
            for row in item.rows:
                yield " ".join(_cell_text(inner) for inner in row.cells)
