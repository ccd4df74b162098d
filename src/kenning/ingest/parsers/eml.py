"""E-mail (RFC 822 / MIME ``.eml``): the body as text, the envelope as metadata.

The subject is the title; From/To/Cc/Date go into the metadata. The text/plain part is
preferred (it is what the sender wrote; the HTML alternative is usually the same text
with markup), falling back to the HTML part read by the HTML parser. Attachments are not
parsed, only listed, so a mail never pulls in content of another format unannounced.
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage, MIMEPart
from pathlib import Path

from kenning.errors import ParseError
from kenning.ingest.parsers._blocks import clean_inline, finish
from kenning.ingest.parsers.html import html_blocks, make_soup
from kenning.ingest.parsers.text import text_to_blocks
from kenning.types import Block, ParsedDocument

_HEADERS = (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Date", "date"))


def parse_eml(path: Path) -> ParsedDocument:
    """Parse an e-mail file; raises ParseError when it has no readable body."""
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise ParseError("no e-mail headers found")
    metadata = _envelope(message)
    attachments = [name for part in message.iter_attachments() if (name := part.get_filename())]
    if attachments:
        metadata["attachments"] = ", ".join(attachments)
    return finish(_body_blocks(message), title=str(message["Subject"] or ""), metadata=metadata)


def _envelope(message: EmailMessage) -> dict[str, str]:
    """From/To/Cc/Date as decoded strings (RFC 2047 encoded words resolved)."""
    found = {key: clean_inline(str(message[header])) for header, key in _HEADERS}
    return {key: value for key, value in found.items() if value and value != "None"}


def _body_blocks(message: EmailMessage) -> list[Block | None]:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return []
    content = _content(part)
    if part.get_content_subtype() == "html":
        return html_blocks(make_soup(content))
    return text_to_blocks(content)


def _content(part: MIMEPart) -> str:
    """Decoded text of a part; an unknown or lying charset degrades to replacement chars."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
