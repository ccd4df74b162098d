"""What a URL source covers: its scope, the links a page adds, and what robots.txt allows.

A URL source is a starting page plus everything linked from it *under the same folder*
(``https://docs.acme.com/guide/intro.html`` covers ``https://docs.acme.com/guide/...``):
the rule an editor can predict, and one that never wanders to other sites.
"""

from __future__ import annotations

import urllib.robotparser
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from kenning.errors import InvalidInputError
from kenning.ingest.web import normalize_url

_MAX_LINKS_PER_PAGE = 5000


def scope_of(url: str) -> str:
    """The URL prefix a source covers: the start URL up to the last ``/`` of its path."""
    parts = urlsplit(normalize_url(url))
    folder = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, folder, "", ""))


def in_scope(url: str, scope: str) -> bool:
    return url.startswith(scope)


def page_links(html_file: Path, page_url: str) -> Iterator[str]:
    """Normalised absolute URLs of a page's ``<a href>`` links, ``<base href>`` honoured.

    Links that cannot be fetched (``mailto:``, ``javascript:``, malformed) are dropped, as
    are links marked ``rel=nofollow``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html_file.read_bytes(), "lxml")
    base = page_url
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(page_url, str(base_tag.get("href")))
    for n, anchor in enumerate(soup.find_all("a", href=True)):
        if n >= _MAX_LINKS_PER_PAGE:
            return
        if "nofollow" in str(anchor.get("rel") or ""):
            continue
        try:
            yield normalize_url(urljoin(base, str(anchor.get("href"))))
        except (InvalidInputError, ValueError):
            continue


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def robots_rules(text: str | None, robots: str) -> urllib.robotparser.RobotFileParser:
    """Parsed robots.txt; ``None`` (no file, or an error fetching it) allows everything."""
    rules = urllib.robotparser.RobotFileParser(robots)
    rules.parse((text or "").splitlines())
    return rules
