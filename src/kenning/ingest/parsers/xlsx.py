"""XLSX: each sheet a level-1 heading followed by its tables, via openpyxl.

The workbook is opened read-only (streamed, bounded memory) with cached formula values
(``data_only``: a formula's last computed result, not its source). A sheet often holds
several tables separated by blank rows, each with a one-cell caption above it; those are
split apart so every table gets its own header row, and the caption becomes a paragraph.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import openpyxl

from kenning.ingest.parsers._blocks import finish, heading_block, table_block, text_block
from kenning.types import Block, ParsedDocument

Cell = object
Row = list[str]


def parse_xlsx(path: Path) -> ParsedDocument:
    """Parse a workbook; the title is the workbook's core title when set."""
    with warnings.catch_warnings():
        # openpyxl warns about extensions it ignores (data validation, conditional formats).
        warnings.simplefilter("ignore", UserWarning)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        blocks: list[Block | None] = []
        for sheet in workbook.worksheets:
            # Stored dimensions can claim a million rows; iterate the cells actually present.
            sheet.reset_dimensions()
            blocks.append(heading_block(str(sheet.title), 1))
            blocks.extend(_sheet_blocks(sheet.iter_rows(values_only=True)))
        title = workbook.properties.title
        metadata = {"sheets": str(len(workbook.worksheets))}
    finally:
        workbook.close()
    return finish(blocks, title=title, metadata=metadata)


def _sheet_blocks(rows: Iterable[Sequence[Cell]]) -> Iterator[Block | None]:
    """Blocks of one sheet: runs of non-empty rows, each a table (plus caption)."""
    for run in _runs(_format_row(row) for row in rows):
        if len(run) > 1 and _filled(run[0]) == 1 and max(_filled(r) for r in run[1:]) > 1:
            yield text_block(" ".join(c for c in run[0] if c))
            run = run[1:]
        if max(_filled(r) for r in run) <= 1:
            yield from (text_block(" ".join(c for c in r if c)) for r in run)
        else:
            yield table_block(run)


def _runs(rows: Iterable[Row]) -> Iterator[list[Row]]:
    """Consecutive non-empty rows; a blank row separates two tables."""
    run: list[Row] = []
    for row in rows:
        if any(row):
            run.append(row)
        elif run:
            yield run
            run = []
    if run:
        yield run


def _filled(row: Row) -> int:
    return sum(1 for cell in row if cell)


def _format_row(row: Sequence[Cell]) -> Row:
    return [_format_cell(value) for value in row]


def _format_cell(value: Cell) -> str:
    """Render a cell as a reader would see it: 13 not 13.0, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
