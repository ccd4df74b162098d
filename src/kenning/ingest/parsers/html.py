"""HTML: walk the DOM into headings, paragraphs, list items, tables and code.

Saved web pages are mostly chrome (menus, sidebars, language pickers, footers), so the walk
starts at the page's single ``<main>`` or ``<article>`` when there is one and skips
navigation-like elements anywhere. Inline markup is flattened into the surrounding
paragraph; block-level elements end it. Layout tables (a table holding tables, or a single
column) are read as ordinary content rather than as data tables.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PreformattedString

from kenning.ingest.parsers._blocks import (
    code_block,
    finish,
    first_heading,
    heading_block,
    table_block,
    table_rows,
    text_block,
)
from kenning.types import Block, BlockKind, ParsedDocument


def _names(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


_SKIP_TAGS = _names(
    "script style noscript template head title meta link nav aside footer form "
    "button select option input textarea svg canvas iframe object embed map img "
    "picture video audio source track"
)
_SKIP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
# Class names of common site chrome (MediaWiki, Docusaurus, generic themes).
_SKIP_CLASS = re.compile(
    r"^(?:navbox.*|mw-editsection|mw-jump-link|noprint|catlinks|printfooter|mw-indicators|"
    r"vector-(?:dropdown|page-toolbar|column-end|menu|toc|sticky).*|sidebar.*|toc|"
    r"skip-?link.*|breadcrumbs?|visually-hidden|sr-only|hidden)$"
)
_BLOCK_TAGS = _names(
    "address article blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure header hgroup hr html legend li main ol p section "
    "summary table tbody td tfoot th thead tr ul"
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}


def parse_html(path: Path) -> ParsedDocument:
    """Parse an HTML file; the title is ``<title>``, else the first ``<h1>``."""
    soup = make_soup(path.read_bytes())
    blocks = html_blocks(soup)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    return finish(blocks, title=title or first_heading(blocks))


def make_soup(markup: str | bytes) -> BeautifulSoup:
    """Parse with lxml; XHTML and inline-XBRL files are still HTML for our purposes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(markup, "lxml")


def html_blocks(soup: BeautifulSoup | Tag) -> list[Block | None]:
    """Blocks of the page's main content (or of a fragment, for Markdown's HTML blocks)."""
    walker = _Walker()
    walker.walk(_content_root(soup))
    walker.flush()
    return walker.blocks


def _content_root(soup: BeautifulSoup | Tag) -> Tag:
    """The single ``<main>`` or ``<article>`` if the page has one, else the whole page."""
    for name in ("main", "article"):
        found = soup.find_all(name)
        if len(found) == 1 and isinstance(found[0], Tag):
            return found[0]
    return soup


def _is_chrome(tag: Tag) -> bool:
    """Navigation, hidden elements and known site chrome: not part of the document."""
    if tag.name in _SKIP_TAGS or str(tag.get("role") or "") in _SKIP_ROLES:
        return True
    if tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    style = str(tag.get("style") or "").replace(" ", "").lower()
    if "display:none" in style:
        return True
    return any(_SKIP_CLASS.match(cls) for cls in tag.get_attribute_list("class") if cls)


class _Walker:
    """Depth-first walk that buffers inline text and emits a block at every block boundary."""

    def __init__(self) -> None:
        self.blocks: list[Block | None] = []
        self._buffer: list[str] = []
        self._kind: list[tuple[BlockKind, int]] = [(BlockKind.PARAGRAPH, 0)]

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                self._element(child)
            # Comments, CDATA, doctype and processing instructions are not content.
            elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
                self._buffer.append(str(child))

    def flush(self) -> None:
        """Emit the buffered inline text as a block of the current kind."""
        text = "".join(self._buffer)
        self._buffer = []
        kind, level = self._kind[-1]
        if kind is BlockKind.HEADING:
            self.blocks.append(heading_block(text, level))
        else:
            self.blocks.append(text_block(text, kind))

    def _element(self, tag: Tag) -> None:
        name = tag.name
        if _is_chrome(tag):
            return
        if name in _HEADINGS:
            self._nested(tag, BlockKind.HEADING, _HEADINGS[name])
        elif name == "li":
            self._nested(tag, BlockKind.LIST_ITEM, 0)
        elif name == "table":
            self._table(tag)
        elif name == "pre":
            self.flush()
            self.blocks.append(code_block(tag.get_text()))
        elif name == "br":
            self._buffer.append("\n")
        elif name in _BLOCK_TAGS:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def _nested(self, tag: Tag, kind: BlockKind, level: int) -> None:
        """Walk an element whose own text is a block of ``kind`` (a heading, a list item)."""
        self.flush()
        self._kind.append((kind, level))
        self.walk(tag)
        self.flush()
        self._kind.pop()

    def _table(self, table: Tag) -> None:
        """A data table becomes one TABLE block; a layout table is read as content."""
        self.flush()
        rows = [_row_cells(tr) for tr in _own_rows(table)]
        matrix = table_rows(rows)
        if table.find("table") is not None or not matrix or len(matrix[0]) < 2:
            self._kind.append((BlockKind.PARAGRAPH, 0))
            self.walk(table)
            self.flush()
            self._kind.pop()
            return
        self.blocks.append(table_block(matrix))


def _own_rows(table: Tag) -> Iterable[Tag]:
    """Rows of this table only (through thead/tbody/tfoot), not of tables nested in it."""
    for tr in table.find_all("tr"):
        if isinstance(tr, Tag) and tr.find_parent("table") is table:
            yield tr


def _row_cells(tr: Tag) -> list[str]:
    """Cell texts of one row, read with the same rules as the page (chrome skipped)."""
    cells: list[str] = []
    for cell in tr.find_all(["td", "th"], recursive=False):
        if isinstance(cell, Tag):
            walker = _Walker()
            walker.walk(cell)
            walker.flush()
            cells.append(" ".join(b.text for b in walker.blocks if b is not None))
    return cells
