"""Plain text: decode robustly, then recover paragraphs and list items from the layout.

A short first line that does not read as a sentence is the title, as a reader would take
it (plain text has no title field): it becomes a level-1 heading, so the chunker puts it
in every chunk's context header, which helps retrieval tell documents apart.

Decoding never fails on bad bytes. Valid UTF-8 is taken as is; text that is mostly UTF-8
with a few broken bytes is decoded with U+FFFD replacements and flagged in the metadata
(``decode_errors``), because guessing a legacy code page from a handful of stray bytes is
worse than a visible replacement character; only text with plenty of non-UTF-8 evidence
is handed to charset-normalizer to detect its legacy encoding.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import charset_normalizer

from kenning.errors import ParseError
from kenning.ingest.parsers._blocks import finish, heading_block, text_block
from kenning.types import Block, BlockKind, ParsedDocument

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Below this many invalid sequences there is too little evidence to pick a legacy encoding.
_MIN_LEGACY_EVIDENCE = 8
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152-\u2122]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•◦▪‣●]\s+|(?=\d{1,3}[.)]\s))")
_SHORT_LINE_RATIO = 0.7
_MIN_WRAP_WIDTH = 40
# Longest first line taken as a title: long paper titles run to ~150-200 characters.
_TITLE_MAX_CHARS = 200
# A first line ending like a sentence or a lead-in is text, not a title.
_NOT_TITLE_ENDINGS = (".", ",", ";", ":")
# A setext/ASCII-art underline under the title line ("Release Notes\n=============").
_UNDERLINE = re.compile(r"\s+[=\-~_*#]{3,}$")


def parse_txt(path: Path) -> ParsedDocument:
    """Parse a plain-text file; the metadata records the encoding actually used."""
    text, metadata = decode_text(path.read_bytes())
    blocks, title = with_title(text_to_blocks(text))
    return finish(blocks, title=title, metadata=metadata)


def with_title(blocks: Sequence[Block | None]) -> tuple[list[Block | None], str | None]:
    """Promote a title-like first paragraph to a level-1 heading and return it as the title.

    Title-like: a paragraph of at most ``_TITLE_MAX_CHARS`` characters with a letter in it,
    not ending with sentence punctuation, and followed by more text. Anything else leaves
    the blocks unchanged and the title ``None`` (the caller falls back, e.g. to the name).
    """
    kept = [b for b in blocks if b is not None]
    first = kept[0] if kept else None
    if first is None or len(kept) < 2 or not _looks_like_title(first):
        return list(blocks), None
    title = _UNDERLINE.sub("", first.text.strip())
    heading = heading_block(title, 1, page=first.page)
    return [heading if b is first else b for b in blocks], title


def _looks_like_title(block: Block) -> bool:
    text = block.text.strip()
    return (
        block.kind is BlockKind.PARAGRAPH
        and len(text) <= _TITLE_MAX_CHARS
        and any(ch.isalpha() for ch in text)
        and not text.endswith(_NOT_TITLE_ENDINGS)
    )


def decode_text(data: bytes) -> tuple[str, dict[str, str]]:
    """Decode bytes to text, never raising on invalid sequences (see the module docstring)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), {"encoding": encoding}
    try:
        return _repair_mojibake(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        return _decode_nul_bearing(data)
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    good = sum(1 for ch in replaced if ord(ch) > 0x7F) - bad
    if good >= bad or bad < _MIN_LEGACY_EVIDENCE:
        return replaced, {"encoding": "utf-8", "decode_errors": "replaced", "replaced": str(bad)}
    return _decode_legacy(data, replaced, bad)


def _repair_mojibake(text: str) -> tuple[str, dict[str, str]]:
    """Undo UTF-8 that was decoded as Latin-1/cp1252 and saved again ("â€“" for "–").

    Applied only when the *whole* text round-trips strictly, which ordinary text in any
    language essentially never does by accident.
    """
    if _MOJIBAKE.search(text):
        for codec in ("latin-1", "cp1252"):
            try:
                repaired = text.encode(codec).decode("utf-8")
            except UnicodeError:
                continue
            return repaired, {"encoding": "utf-8", "repaired": f"utf-8 read as {codec}"}
    return text, {"encoding": "utf-8"}


def _decode_legacy(data: bytes, replaced: str, bad: int) -> tuple[str, dict[str, str]]:
    """Ask charset-normalizer for a legacy code page; fall back to UTF-8 with replacements."""
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return replaced, {"encoding": "utf-8", "decode_errors": "replaced", "replaced": str(bad)}
    return str(best), {"encoding": best.encoding}


def _decode_nul_bearing(data: bytes) -> tuple[str, dict[str, str]]:
    """NUL bytes mean UTF-16/32 without a BOM, or a binary file that is not text at all."""
    best = charset_normalizer.from_bytes(data).best()
    if best is None or not best.encoding.startswith("utf_"):
        raise ParseError("binary content, not text")
    return str(best), {"encoding": best.encoding}


def text_to_blocks(text: str) -> list[Block | None]:
    """Split text into paragraphs at blank lines and recover bullet/numbered list items."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[Block | None] = []
    for chunk in _BLANK_LINE.split(text):
        blocks.extend(_chunk_blocks(chunk.split("\n")))
    return blocks


def _chunk_blocks(lines: list[str]) -> Iterator[Block | None]:
    """Blocks of one blank-line-separated chunk: list items, or reflowed paragraphs."""
    plain: list[str] = []
    item: list[str] | None = None
    for line in lines:
        marker = _LIST_MARKER.match(line)
        if marker:
            yield from _reflow(plain)
            plain = []
            if item is not None:
                yield text_block(" ".join(item), BlockKind.LIST_ITEM)
            item = [line[marker.end() :]]
        elif item is not None and line.strip():
            item.append(line)
        else:
            plain.append(line)
    if item is not None:
        yield text_block(" ".join(item), BlockKind.LIST_ITEM)
    yield from _reflow(plain)


def _reflow(lines: list[str]) -> Iterator[Block | None]:
    """Join hard-wrapped lines into paragraphs, breaking after a clearly short line.

    Text exported from PDFs or web pages often has no blank lines at all; in hard-wrapped
    prose a line much shorter than its neighbours ends a paragraph (or is a title).
    """
    stripped = [line.strip() for line in lines if line.strip()]
    current: list[str] = []
    for i, line in enumerate(stripped):
        current.append(line)
        if _ends_paragraph(stripped, i):
            yield text_block(" ".join(current))
            current = []
    if current:
        yield text_block(" ".join(current))


def _ends_paragraph(lines: list[str], i: int) -> bool:
    neighbours = [len(lines[j]) for j in (i - 1, i + 1) if 0 <= j < len(lines)]
    width = max(neighbours, default=0)
    return width >= _MIN_WRAP_WIDTH and len(lines[i]) < _SHORT_LINE_RATIO * width
