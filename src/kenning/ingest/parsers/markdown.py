"""Markdown: CommonMark (plus GFM tables) tokens from markdown-it-py mapped to blocks.

Working on the token stream rather than on rendered HTML keeps list nesting, fenced code
and table cells exact. Raw HTML blocks (tables pasted as HTML are common in READMEs) go
through the HTML parser so they get the same treatment as in an ``.html`` file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kenning.ingest.parsers._blocks import (
    code_block,
    finish,
    first_heading,
    heading_block,
    table_block,
    text_block,
)
from kenning.ingest.parsers.html import html_blocks, make_soup
from kenning.ingest.parsers.text import decode_text
from kenning.types import Block, BlockKind, ParsedDocument

_LIST_OPEN = frozenset({"bullet_list_open", "ordered_list_open"})
_LIST_CLOSE = frozenset({"bullet_list_close", "ordered_list_close"})


def parse_markdown(path: Path) -> ParsedDocument:
    """Parse a Markdown file; the title is the first level-1 heading."""
    text, metadata = decode_text(path.read_bytes())
    blocks = markdown_blocks(text)
    return finish(blocks, title=first_heading(blocks), metadata=metadata)


def markdown_blocks(text: str) -> list[Block | None]:
    """Blocks of a Markdown string, in document order."""
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    tokens = parser.parse(text)
    blocks: list[Block | None] = []
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type in _LIST_OPEN:
            depth += 1
        elif token.type in _LIST_CLOSE:
            depth -= 1
        elif token.type == "table_open":
            i = _table(tokens, i, blocks)
        else:
            blocks.extend(_leaf(tokens, i, depth))
        i += 1
    return blocks


def _leaf(tokens: Sequence[Token], i: int, depth: int) -> list[Block | None]:
    """The block(s) a single token stands for; most tokens stand for none."""
    token = tokens[i]
    if token.type == "heading_open":
        return [heading_block(_inline(tokens[i + 1]), int(token.tag[1:]))]
    if token.type == "paragraph_open":
        kind = BlockKind.LIST_ITEM if depth else BlockKind.PARAGRAPH
        return [text_block(_inline(tokens[i + 1]), kind)]
    if token.type in ("fence", "code_block"):
        return [code_block(token.content)]
    if token.type == "html_block":
        return html_blocks(make_soup(token.content))
    return []


def _table(tokens: Sequence[Token], i: int, blocks: list[Block | None]) -> int:
    """Collect a GFM table into one TABLE block; returns the index of ``table_close``."""
    rows: list[list[str]] = []
    while tokens[i].type != "table_close":
        token = tokens[i]
        if token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open") and rows:
            rows[-1].append(_inline(tokens[i + 1]))
        i += 1
    blocks.append(table_block(rows))
    return i


def _inline(token: Token) -> str:
    """Plain text of an inline token: markup dropped, code spans and image alt text kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)
