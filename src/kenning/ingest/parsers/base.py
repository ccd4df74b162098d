"""The parser interface: a file path in, a ``ParsedDocument`` out, or a typed error.

Contract for every parser:
- It reads only the file it is given, never the network.
- It returns blocks in reading order with their structural kind (headings with a level,
  paragraphs, list items, tables with a header row, code) and the page/slide where the
  format has pages.
- It raises ``EncryptedFileError`` for password-protected files, ``ParseError`` for a file
  that cannot be read as its format (corrupt, truncated), and never returns an empty
  document silently: a file with no extractable text is a ``ParseError("no text")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kenning.types import ParsedDocument


class Parser(Protocol):
    def __call__(self, path: Path) -> ParsedDocument: ...
