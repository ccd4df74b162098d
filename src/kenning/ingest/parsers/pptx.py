"""PPTX: one section per slide, slide numbers as pages, via python-pptx.

Each slide's title becomes a level-1 heading, so chunks carry the slide title as their
section. Shapes are read top-to-bottom, left-to-right (the order a reader sees, not the
z-order the file stores); groups are descended into; tables become TABLE blocks; charts
contribute their title and a category-by-series table; speaker notes are kept because
they often hold the actual explanation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pptx
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph

from kenning.ingest.parsers._blocks import (
    clean_inline,
    finish,
    heading_block,
    table_block,
    text_block,
)
from kenning.types import Block, BlockKind, ParsedDocument

_TITLES = frozenset({PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE})
_BODIES = frozenset({PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT})


def parse_pptx(path: Path) -> ParsedDocument:
    """Parse a presentation; the title is the first slide's title, else the core title."""
    presentation = pptx.Presentation(str(path))
    blocks: list[Block | None] = []
    title = ""
    for number, slide in enumerate(presentation.slides, start=1):
        slide_title = _slide_title(slide)
        title = title or slide_title
        blocks.append(heading_block(slide_title, 1, page=number))
        blocks.extend(_slide_blocks(slide, number))
    metadata = {"slides": str(len(presentation.slides))}
    return finish(blocks, title=title or presentation.core_properties.title, metadata=metadata)


def _slide_title(slide: Slide) -> str:
    shape = slide.shapes.title
    return clean_inline(shape.text_frame.text) if shape is not None else ""


def _slide_blocks(slide: Slide, page: int) -> Iterator[Block | None]:
    for shape in _reading_order(slide.shapes):
        if _is_title(shape):
            continue
        yield from _shape_blocks(shape, page)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None:
            yield from (text_block(p.text, page=page) for p in notes.paragraphs)


def _reading_order(shapes: Iterable[BaseShape]) -> list[BaseShape]:
    """Shapes sorted top-to-bottom then left-to-right; unpositioned shapes keep file order."""
    return sorted(shapes, key=lambda s: (s.top is None, s.top or 0, s.left or 0))


def _is_title(shape: BaseShape) -> bool:
    return shape.is_placeholder and shape.placeholder_format.type in _TITLES


def _shape_blocks(shape: BaseShape, page: int) -> Iterator[Block | None]:
    if isinstance(shape, GroupShape):
        for inner in _reading_order(shape.shapes):
            yield from _shape_blocks(inner, page)
    elif isinstance(shape, GraphicFrame) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        yield table_block(rows, page=page)
    elif isinstance(shape, GraphicFrame) and shape.has_chart:
        yield from _chart_blocks(shape, page)
    elif isinstance(shape, Shape) and shape.has_text_frame:
        yield from _text_frame_blocks(shape.text_frame, _is_body(shape), page)


def _is_body(shape: BaseShape) -> bool:
    return shape.is_placeholder and shape.placeholder_format.type in _BODIES


def _text_frame_blocks(frame: TextFrame, body: bool, page: int) -> Iterator[Block | None]:
    """Paragraphs of a text frame; body placeholders with several lines are bullet lists."""
    paragraphs = [p for p in frame.paragraphs if p.text.strip()]
    bulleted = body and len(paragraphs) > 1
    for paragraph in paragraphs:
        explicit = _explicit_bullet(paragraph)
        is_item = explicit if explicit is not None else bulleted or paragraph.level > 0
        kind = BlockKind.LIST_ITEM if is_item else BlockKind.PARAGRAPH
        yield text_block(paragraph.text, kind, page=page)


def _explicit_bullet(paragraph: _Paragraph) -> bool | None:
    """True/False when the paragraph sets its own bullet (or ``buNone``), else inherited."""
    properties = paragraph._p.pPr
    if properties is None:
        return None
    names = {child.tag.rsplit("}", 1)[-1] for child in properties}
    if names & {"buChar", "buAutoNum", "buBlip"}:
        return True
    return False if "buNone" in names else None


def _chart_blocks(frame: GraphicFrame, page: int) -> Iterator[Block | None]:
    """A chart's title and its data as a table: category column, one column per series."""
    chart = frame.chart
    if chart.has_title and chart.chart_title.has_text_frame:
        yield text_block(chart.chart_title.text_frame.text, page=page)
    plot = chart.plots[0] if len(chart.plots) else None
    if plot is None:
        return
    series = list(plot.series)
    header = ["", *(s.name or "" for s in series)]
    rows = [header]
    for index, category in enumerate(plot.categories):
        values = [_number(s.values[index]) if index < len(s.values) else "" for s in series]
        rows.append([str(category), *values])
    yield table_block(rows, page=page)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
