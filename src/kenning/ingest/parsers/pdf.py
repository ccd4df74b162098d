"""PDF: text with pdfminer layout analysis, tables with pdfplumber, pages kept.

pypdf opens the file first because it reads only the trailer and cross-reference table:
an encrypted file is refused in milliseconds instead of after a full layout pass. Then
pdfplumber (pdfminer underneath) yields, per page, positioned text lines and the tables
its ruling-line detector finds. Text inside a kept table is not repeated as paragraphs.
Scanned pages (images without a text layer) yield nothing: there is no OCR here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
from pdfminer.layout import LTChar, LTFigure, LTPage, LTTextBoxHorizontal, LTTextLineHorizontal
from pdfplumber.page import Page
from pypdf import PasswordType

from kenning.errors import EncryptedFileError
from kenning.ingest.parsers._blocks import clean_inline, finish, table_block, table_rows
from kenning.ingest.parsers._pdf_layout import (
    Line,
    PageItem,
    Segment,
    TableItem,
    clean_line,
    layout_blocks,
    regroup_fragments,
    split_segments,
)
from kenning.types import ParsedDocument

# all_texts: also analyse text drawn inside form XObjects, which some producers use for
# the whole page.
_LAPARAMS: dict[str, Any] = {"all_texts": True}
# Font-name fragments meaning a bold face ("-Medi" is URW/Nimbus bold, "CMBX" TeX bold).
_BOLD_MARKERS = ("bold", "black", "heavy", "demi", "medi", "cmbx", "sfbx")
_BOLD_SHARE = 0.95
_JUNK_TITLES = frozenset({"untitled", "(anonymous)", "anonymous", "title", "none"})
_MIN_TABLE_FILL = 0.5
_TABLE_TOLERANCE = 2.0


def parse_pdf(path: Path) -> ParsedDocument:
    """Parse a PDF; the title comes from the document information dictionary."""
    title = _check_and_read_title(path)
    pages: list[list[PageItem]] = []
    with pdfplumber.open(path, laparams=_LAPARAMS) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            pages.append(_page_items(page, number))
            page.close()  # drop the page's cached layout: memory stays flat on long PDFs
    return finish(layout_blocks(pages), title=title, metadata={"pages": str(len(pages))})


def _check_and_read_title(path: Path) -> str | None:
    """Refuse password-protected files; files with an empty user password open normally."""
    reader = pypdf.PdfReader(path)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise EncryptedFileError(f"{path.name}: the PDF is password-protected")
    info = reader.metadata
    title = clean_inline(str(info.title or "")) if info is not None else ""
    return None if title.lower() in _JUNK_TITLES else title or None


def _page_items(page: Page, number: int) -> list[PageItem]:
    """Segments and tables of one page, tables inserted where their top edge falls."""
    tables = list(_tables(page, number))
    layout: LTPage = page.layout
    segments = [
        segment
        for box in _text_boxes(layout)
        for segment in split_segments(_lines(box, layout), number, float(layout.height))
        if not any(_inside(segment, bbox) for bbox, _ in tables)
    ]
    return _interleave(regroup_fragments(segments), tables)


def _tables(page: Page, number: int) -> Iterator[tuple[tuple[float, ...], TableItem]]:
    """Tables worth keeping: two columns and rows at least, mostly filled cells.

    Ruling-line detection also fires on page frames, form boxes and empty grids; sparse
    or single-column "tables" read better as the paragraphs they contain.
    """
    for table in page.find_tables():
        matrix = table_rows(table.extract())
        cells = [cell for row in matrix for cell in row]
        if len(matrix) < 2 or len(matrix[0]) < 2:
            continue
        if sum(1 for cell in cells if cell) < _MIN_TABLE_FILL * len(cells):
            continue
        block = table_block(matrix, page=number)
        if block is not None:
            yield tuple(float(v) for v in table.bbox), TableItem(block)


def _text_boxes(container: Iterable[Any]) -> Iterator[LTTextBoxHorizontal]:
    """Horizontal text boxes in layout order, including those inside figures."""
    for obj in container:
        if isinstance(obj, LTTextBoxHorizontal) and not _is_vertical_debris(obj):
            yield obj
        elif isinstance(obj, LTFigure):
            yield from _text_boxes(obj)


def _is_vertical_debris(box: LTTextBoxHorizontal) -> bool:
    """Rotated text (arXiv stamps, rotated table headers) arrives as one glyph per line."""
    lines = [line.get_text().strip() for line in box]
    return len(lines) >= 3 and sum(len(line) for line in lines) <= 2 * len(lines)


def _lines(box: LTTextBoxHorizontal, layout: LTPage) -> list[Line]:
    lines = []
    for item in box:
        if isinstance(item, LTTextLineHorizontal):
            line = _line(item, float(layout.y1))
            if line is not None:
                lines.append(line)
    return lines


def _line(item: LTTextLineHorizontal, page_top: float) -> Line | None:
    """A line with its dominant font size and weight; lines of pure punctuation are dropped."""
    text = clean_line(item.get_text())
    if not any(ch.isalnum() for ch in text) and not text.strip().startswith("•"):
        return None
    chars = [ch for ch in item if isinstance(ch, LTChar)]
    sizes = sorted(round(ch.size * 2) / 2 for ch in chars) or [0.0]
    # A line counts as bold only if (nearly) all of it is: a bold run-in label ("Note:")
    # at the start of a body line must not turn the line into a heading.
    visible = [ch for ch in chars if not ch.get_text().isspace()]
    bold = bool(visible) and sum(_is_bold(ch.fontname) for ch in visible) >= _BOLD_SHARE * len(
        visible
    )
    return Line(
        text=text,
        size=sizes[len(sizes) // 2],
        bold=bold,
        x0=float(item.x0),
        top=page_top - float(item.y1),
        bottom=page_top - float(item.y0),
    )


def _is_bold(fontname: str) -> bool:
    name = fontname.lower()
    return any(marker in name for marker in _BOLD_MARKERS)


def _inside(segment: Segment, bbox: tuple[float, ...]) -> bool:
    """Whether a segment's middle lies within a table's box (pdfplumber top-based coords)."""
    x0, top, x1, bottom = bbox
    line = segment.lines[0]
    middle_y = (segment.top + segment.bottom) / 2
    tol = _TABLE_TOLERANCE
    return x0 - tol <= line.x0 <= x1 + tol and top - tol <= middle_y <= bottom + tol


def _interleave(
    segments: list[Segment], tables: list[tuple[tuple[float, ...], TableItem]]
) -> list[PageItem]:
    """Place each table before the first segment (in reading order) that starts below it."""
    items: list[PageItem] = []
    pending = sorted(tables, key=lambda t: t[0][1])
    for segment in segments:
        while pending and pending[0][0][1] <= segment.top:
            items.append(pending.pop(0)[1])
        items.append(segment)
    items.extend(item for _, item in pending)
    return items
