"""Parser registry: pick a parser for a file and run it with Kenning's error contract.

``parse_file`` is the only entry point callers need. It checks the size from ``stat``
before anything reads the file, detects the format (extension first, magic bytes where
the extension lies or is missing), and turns any library exception into a ``ParseError``
naming the file and the format, so one bad upload never surfaces as a stack trace.

    parse_file(path, max_bytes=...)
    ├── NotFoundError / InvalidInputError   no such file, not a regular file
    ├── FileTooLargeError                   size over max_bytes (file not read)
    ├── UnsupportedFormatError              extension no parser handles
    ├── EncryptedFileError                  password-protected PDF / Office file
    └── ParseError                          empty, corrupt, truncated, or no text
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from kenning.errors import (
    EncryptedFileError,
    FileTooLargeError,
    InvalidInputError,
    KenningError,
    NotFoundError,
    ParseError,
    UnsupportedFormatError,
)
from kenning.ingest.parsers.base import Parser
from kenning.types import ParsedDocument

__all__ = ["SUPPORTED_FORMATS", "detect_format", "format_for_suffix", "parse_file"]

SUPPORTED_FORMATS: tuple[str, ...] = ("pdf", "docx", "pptx", "xlsx", "html", "md", "txt", "eml")

_EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".eml": "eml",
}
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML_PARTS = {
    "word/document.xml": "docx",
    "ppt/presentation.xml": "pptx",
    "xl/workbook.xml": "xlsx",
}
_BINARY_FORMATS = frozenset({"pdf", "docx", "pptx", "xlsx"})
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
# A zip whose contents expand beyond this multiple of the size limit is refused unread.
_MAX_EXPANSION = 20
_MAX_REASON = 300


def format_for_suffix(suffix: str) -> str | None:
    """The format a file extension (``.pdf``) stands for, if any parser handles it."""
    return _EXTENSIONS.get(suffix.lower())


def detect_format(path: Path) -> str:
    """The format key for ``path``: by extension, corrected by magic bytes for containers.

    A PDF or Office file saved under the wrong extension (or none) is recognised from its
    first bytes; text formats are trusted by extension only, since any bytes can be text.
    """
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    sniffed = _sniff(path)
    if sniffed is not None and (by_extension is None or by_extension in _BINARY_FORMATS):
        return sniffed
    if by_extension is None:
        shown = path.suffix or "(no extension)"
        supported = ", ".join(sorted(_EXTENSIONS))
        raise UnsupportedFormatError(
            f"{path.name}: unsupported file type {shown}; supported: {supported}"
        )
    return by_extension


def parse_file(path: Path, *, max_bytes: int) -> ParsedDocument:
    """Parse one file into blocks, or raise a typed error (see the module docstring)."""
    _check_size(path, max_bytes)
    fmt = detect_format(path)
    if fmt in ("docx", "pptx", "xlsx"):
        _check_ooxml(path, fmt, max_bytes)
    try:
        return _parsers()[fmt](path)
    except KenningError as exc:
        if type(exc) is ParseError and not str(exc).startswith(path.name):
            raise ParseError(f"{path.name}: {exc}") from exc
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:_MAX_REASON]
        raise ParseError(f"{path.name}: could not read as {fmt}: {reason}") from exc


def _check_size(path: Path, max_bytes: int) -> None:
    """Refuse missing, special, empty and oversized files using ``stat`` alone."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{path.name}: no such file") from exc
    if not path.is_file():
        raise InvalidInputError(f"{path.name}: not a regular file")
    if info.st_size > max_bytes:
        raise FileTooLargeError(
            f"{path.name}: {info.st_size} bytes is over the {max_bytes}-byte limit"
        )
    if info.st_size == 0:
        raise ParseError(f"{path.name}: empty file")


def _sniff(path: Path) -> str | None:
    """Container format from the first bytes: PDF, OOXML zip, or OLE (legacy/encrypted)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError:  # unreadable or missing: the extension is all we have
        return None
    if _PDF_MAGIC in head:  # some producers put junk before the header
        return "pdf"
    if head.startswith(_ZIP_MAGIC):
        return _ooxml_kind(path)
    return None


def _ooxml_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    return next((fmt for part, fmt in _OOXML_PARTS.items() if part in names), None)


def _check_ooxml(path: Path, fmt: str, max_bytes: int) -> None:
    """Office files must be zips; an OLE container means encrypted or legacy binary."""
    with path.open("rb") as handle:
        head = handle.read(len(_OLE_MAGIC))
    if head == _OLE_MAGIC:
        if _ENCRYPTION_STREAM in path.read_bytes():
            raise EncryptedFileError(f"{path.name}: the {fmt} file is password-protected")
        raise ParseError(
            f"{path.name}: legacy binary Office format, not {fmt}; re-save it as .{fmt}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ParseError(f"{path.name}: could not read as {fmt}: not a valid zip archive") from exc
    if expanded > _MAX_EXPANSION * max_bytes:
        raise FileTooLargeError(
            f"{path.name}: expands to {expanded} bytes, over {_MAX_EXPANSION}x the "
            f"{max_bytes}-byte limit"
        )


def _parsers() -> dict[str, Parser]:
    """Import parsers lazily: PDF and Office libraries are slow to import."""
    from kenning.ingest.parsers.docx import parse_docx
    from kenning.ingest.parsers.eml import parse_eml
    from kenning.ingest.parsers.html import parse_html
    from kenning.ingest.parsers.markdown import parse_markdown
    from kenning.ingest.parsers.pdf import parse_pdf
    from kenning.ingest.parsers.pptx import parse_pptx
    from kenning.ingest.parsers.text import parse_txt
    from kenning.ingest.parsers.xlsx import parse_xlsx

    table: dict[str, Parser] = {
        "pdf": parse_pdf,
        "docx": parse_docx,
        "pptx": parse_pptx,
        "xlsx": parse_xlsx,
        "html": parse_html,
        "md": parse_markdown,
        "txt": parse_txt,
        "eml": parse_eml,
    }
    return table
