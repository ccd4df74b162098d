"""Turn positioned PDF text into blocks: headings, paragraphs, list items.

A PDF has no structure, only glyphs at positions. pdfminer's layout analysis gives text
boxes in reading order (it handles multi-column pages); this module recovers the rest
from typography, over the whole document at once:

- the body font size is the most common size; larger or bold short lines are headings,
  levels ranked by size;
- lines starting with a bullet or a number start list items;
- a paragraph that pdfminer split in two (the break falls mid-sentence) is joined again;
- running headers, footers and page numbers (the same text in the page margin on many
  pages) are dropped, since they would otherwise repeat inside every chunk.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from kenning.ingest.parsers._blocks import clean_inline, heading_block, text_block
from kenning.types import Block, BlockKind

_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_CID = re.compile(r"\(cid:\d+\)")
_LEADING_CID = re.compile(r"^\s*\(cid:\d+\)\s+")
# Glyph bullets may touch the text; dash-like ones need a space (else "-24" loses its sign).
_BULLET = re.compile(r"^\s*(?:[•◦▪▫●○■□‣⁃∙·]\s*|[-–*]\s+)")
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}|[a-z])[.)]\s+\S")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?(?:\d+|[ivxlc]+)(?:\s*(?:of|/)\s*\d+)?$", re.IGNORECASE)
_TERMINAL = re.compile(r"[.!?:;]['\"”’)\]]*$")
_HEADING_SIZE_RATIO = 1.12
_MAX_HEADING_CHARS = 150
_MAX_HEADING_LEVELS = 6
_MARGIN_RATIO = 0.13
_FRAGMENT_WORDS = 4
_TABLE_RUN = 4


@dataclass(slots=True)
class Line:
    """One text line as pdfminer saw it, with the typography used to classify it."""

    text: str
    size: float
    bold: bool
    x0: float
    top: float
    bottom: float


@dataclass(slots=True)
class Segment:
    """Consecutive lines of one text box sharing a style: a paragraph or heading candidate."""

    lines: list[Line]
    page: int
    page_height: float

    @property
    def size(self) -> float:
        return self.lines[0].size

    @property
    def bold(self) -> bool:
        return self.lines[0].bold

    @property
    def top(self) -> float:
        return self.lines[0].top

    @property
    def bottom(self) -> float:
        return self.lines[-1].bottom

    @property
    def text(self) -> str:
        return clean_inline(" ".join(line.text for line in self.lines))


@dataclass(slots=True)
class TableItem:
    """A table found on a page, already rendered as a block, placed in reading order."""

    block: Block


PageItem = Segment | TableItem


def clean_line(raw: str) -> str:
    """Fix ligatures and unmapped glyphs; a leading ``(cid:N)`` is almost always a bullet."""
    text = _LEADING_CID.sub("• ", raw.translate(_LIGATURES))
    return _CID.sub("", text).rstrip()


def split_segments(lines: Sequence[Line], page: int, height: float) -> list[Segment]:
    """Split a text box where the style changes, so a heading glued to its text comes apart."""
    segments: list[Segment] = []
    for line in lines:
        last = segments[-1].lines[-1] if segments else None
        if last is not None and (round(last.size), last.bold) == (round(line.size), line.bold):
            segments[-1].lines.append(line)
        else:
            segments.append(Segment(lines=[line], page=page, page_height=height))
    return segments


def regroup_fragments(segments: Sequence[Segment]) -> list[Segment]:
    """Put scattered one-line fragments back into rows.

    pdfminer reads a borderless table (or a numbered heading set as two text runs) as many
    tiny boxes, often column by column. A run of such fragments is re-sorted top to
    bottom, left to right, and fragments sharing a baseline are joined into one line.
    """
    out: list[Segment] = []
    run: list[Segment] = []
    for segment in segments:
        if _is_fragment(segment):
            run.append(segment)
            continue
        out.extend(_rows(run))
        run = []
        out.append(segment)
    out.extend(_rows(run))
    return out


def _is_fragment(segment: Segment) -> bool:
    return len(segment.lines) == 1 and len(segment.lines[0].text.split()) <= _FRAGMENT_WORDS


def _rows(run: list[Segment]) -> list[Segment]:
    """Sort a run of fragments when it is long enough to be a table, then merge rows."""
    if len(run) >= _TABLE_RUN:
        run = sorted(run, key=lambda s: (round(s.top / max(s.size, 1.0)), s.lines[0].x0))
    rows: list[Segment] = []
    for segment in run:
        last = rows[-1].lines[-1] if rows else None
        line = segment.lines[0]
        if last is not None and abs(last.top - line.top) < 0.5 * line.size and line.x0 > last.x0:
            rows[-1].lines[-1] = _join_row(last, line)
        else:
            rows.append(Segment(lines=[line], page=segment.page, page_height=segment.page_height))
    return rows


def _join_row(left: Line, right: Line) -> Line:
    return Line(
        text=f"{left.text} {right.text}",
        size=max(left.size, right.size),
        bold=left.bold and right.bold,
        x0=left.x0,
        top=min(left.top, right.top),
        bottom=max(left.bottom, right.bottom),
    )


def layout_blocks(pages: Sequence[Sequence[PageItem]]) -> list[Block | None]:
    """Blocks of the whole document from every page's items in reading order."""
    segments = [item for page in pages for item in page if isinstance(item, Segment)]
    styles = _Styles.learn(segments, len(pages))
    builder = _Builder(styles)
    for page in pages:
        for item in page:
            if isinstance(item, TableItem):
                builder.table(item.block)
            elif not styles.is_furniture(item):
                builder.segment(item)
    return builder.finish()


@dataclass(slots=True)
class _Styles:
    """What the document's typography says: body size, heading levels, page furniture."""

    body_size: float
    heading_levels: dict[int, int]
    furniture: set[str] = field(default_factory=set)

    @classmethod
    def learn(cls, segments: Sequence[Segment], n_pages: int) -> _Styles:
        weights: Counter[int] = Counter()
        for segment in segments:
            weights[round(segment.size)] += len(segment.text)
        body = float(weights.most_common(1)[0][0]) if weights else 10.0
        styles = cls(body_size=body, heading_levels={})
        styles.heading_levels = _rank_heading_sizes(
            round(s.size) for s in segments if styles.looks_like_heading(s)
        )
        styles.furniture = _repeated_margin_texts(segments, n_pages)
        return styles

    def looks_like_heading(self, segment: Segment) -> bool:
        """Short, not a sentence, and either larger than body text or bold at body size."""
        text = segment.text
        if len(segment.lines) > 2 or len(text) > _MAX_HEADING_CHARS or text.endswith("."):
            return False
        if sum(ch.isalpha() for ch in text) < 2 or _BULLET.match(text):
            return False
        if segment.size >= self.body_size * _HEADING_SIZE_RATIO:
            return True
        return segment.bold and len(segment.lines) == 1 and segment.size >= self.body_size * 0.95

    def heading_level(self, segment: Segment) -> int:
        return self.heading_levels.get(round(segment.size), _MAX_HEADING_LEVELS)

    def is_furniture(self, segment: Segment) -> bool:
        """Running header/footer or page number in the top or bottom margin."""
        zone = _margin_zone(segment)
        if zone is None:
            return False
        text = segment.text
        return _PAGE_NUMBER.match(text) is not None or _furniture_key(zone, text) in self.furniture


def _rank_heading_sizes(sizes: Iterable[int]) -> dict[int, int]:
    """Level per heading font size, largest first.

    Only sizes used by two headings or more are ranked: one-off display type (a cover
    page, a chapter number) would otherwise push every real heading level down.
    """
    counts = Counter(sizes)
    recurring = sorted((size for size, n in counts.items() if n >= 2), reverse=True)
    levels = {size: min(rank + 1, _MAX_HEADING_LEVELS) for rank, size in enumerate(recurring)}
    for size in counts:
        levels.setdefault(size, 1)
    return levels


def _margin_zone(segment: Segment) -> str | None:
    """ "top" or "bottom" for a segment in the page margins, else ``None``."""
    margin = segment.page_height * _MARGIN_RATIO
    if segment.top < margin:
        return "top"
    if segment.bottom > segment.page_height - margin:
        return "bottom"
    return None


def _furniture_key(zone: str, text: str) -> str:
    """Margin text with numbers masked, so "Page 3" and "Page 4" count as the same footer."""
    return zone + ":" + re.sub(r"\d+", "#", text.lower())


def _repeated_margin_texts(segments: Iterable[Segment], n_pages: int) -> set[str]:
    """Margin texts repeated on three pages or more (and on a sixth of the pages).

    Keyed by margin too: a cover title in the top margin is not the running footer that
    happens to repeat it at the bottom of every other page.
    """
    if n_pages < 3:
        return set()
    pages_by_key: dict[str, set[int]] = {}
    for segment in segments:
        zone = _margin_zone(segment)
        if zone is not None:
            key = _furniture_key(zone, segment.text)
            pages_by_key.setdefault(key, set()).add(segment.page)
    threshold = max(3, n_pages / 6)
    return {key for key, pages in pages_by_key.items() if len(pages) >= threshold}


class _Builder:
    """Accumulates blocks, joining paragraph pieces that pdfminer split apart."""

    def __init__(self, styles: _Styles) -> None:
        self.styles = styles
        self.blocks: list[Block | None] = []
        self._open: tuple[BlockKind, int, Segment, str] | None = None

    def table(self, block: Block) -> None:
        self._close()
        self.blocks.append(block)

    def segment(self, segment: Segment) -> None:
        if self.styles.looks_like_heading(segment):
            self._close()
            level = self.styles.heading_level(segment)
            self.blocks.append(heading_block(segment.text, level, page=segment.page))
            return
        for kind, text in _pieces(segment.lines):
            if kind is None and self._continues(segment, text):
                self._extend(segment, text)
            else:
                self._close()
                self._open = (kind or BlockKind.PARAGRAPH, segment.page, segment, text)

    def _continues(self, segment: Segment, text: str) -> bool:
        """A piece continues the open block when the break fell mid-sentence on one page."""
        if self._open is None or not text:
            return False
        _, page, previous, open_text = self._open
        if page != segment.page or _TERMINAL.search(open_text):
            return False
        if not open_text:  # a bullet glyph that pdfminer put in a box of its own
            return True
        gap = segment.top - previous.bottom
        aligned = abs(segment.lines[0].x0 - previous.lines[-1].x0) < previous.size * 2
        return text[0].islower() or (aligned and 0 <= gap < previous.size * 0.8)

    def _extend(self, segment: Segment, text: str) -> None:
        assert self._open is not None
        kind, page, _, open_text = self._open
        self._open = (kind, page, segment, join_lines([open_text, text]))

    def _close(self) -> None:
        if self._open is not None:
            kind, page, _, text = self._open
            self.blocks.append(text_block(text, kind, page=page))
            self._open = None

    def finish(self) -> list[Block | None]:
        self._close()
        return self.blocks


def _pieces(lines: Sequence[Line]) -> Iterator[tuple[BlockKind | None, str]]:
    """Split lines into list items (at each marker) and plain runs (kind ``None``)."""
    kind: BlockKind | None = None
    current: list[str] = []
    for line in lines:
        bullet = _BULLET.match(line.text)
        if bullet or _NUMBERED.match(line.text):
            if current:
                yield kind, join_lines(current)
            kind = BlockKind.LIST_ITEM
            current = [line.text[bullet.end() :] if bullet else line.text]
        else:
            current.append(line.text)
    if current:
        yield kind, join_lines(current)


def join_lines(lines: Iterable[str]) -> str:
    """Join wrapped lines, undoing end-of-line hyphenation between lowercase letters."""
    out = ""
    for line in (clean_inline(raw) for raw in lines):
        if not line:
            continue
        if len(out) > 1 and out.endswith("-") and out[-2].islower() and line[0].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out
