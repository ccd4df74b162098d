"""URL sources end to end: crawl a real local site, index its pages under their URLs,
re-sync changes and deletions, respect scope, robots.txt, page limits and the SSRF guard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.library import Kenning
from kenning.pipelines.web_sync import indexed_copy
from kenning.settings import SearchMode, Settings, WebSettings
from kenning.types import Document
from tests.fakes.website import FakeWebsite, html


@pytest.fixture
def site() -> Iterator[FakeWebsite]:
    with FakeWebsite() as site:
        site.page(
            "/robots.txt", "User-agent: *\nDisallow: /docs/private/\n", content_type="text/plain"
        )
        site.page(
            "/docs/index.html",
            html(
                "Handbook",
                "Start here.",
                [
                    "leave.html",
                    "travel.md",
                    "private/salaries.html",
                    "../outside.html",
                    "mailto:hr@example.com",
                    "http://example.com/elsewhere",
                    "leave.html#top",
                ],
            ),
        )
        site.page("/docs/leave.html", html("Parental leave", "Parents get 20 weeks zqleave."))
        site.page(
            "/docs/travel.md", "# Travel\n\nBook trains zqtravel.\n", content_type="text/markdown"
        )
        site.page("/docs/private/salaries.html", html("Salaries", "zqsalary figures"))
        site.page("/outside.html", html("Outside", "zqoutside"))
        yield site


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[Kenning]:
    settings = Settings(
        data_dir=tmp_path / "data", web=WebSettings(allow_networks=["127.0.0.1/32"])
    )
    with Kenning(settings=settings) as kb:
        yield kb


def sources(kb: Kenning) -> set[str]:
    return {d.source for d in kb.components.store.list_documents("default")}


def document(kb: Kenning, source: str) -> Document:
    (doc,) = [d for d in kb.components.store.list_documents("default") if d.source == source]
    return doc


def test_a_site_folder_is_crawled_within_scope_and_robots(kb: Kenning, site: FakeWebsite) -> None:
    report = kb.ingest_url(site.url("/docs/index.html"))
    assert report.added == 3, report.errors
    assert sources(kb) == {
        site.url(f"/docs/{p}") for p in ("index.html", "leave.html", "travel.md")
    }
    fetched = set(site.requests)
    assert "/outside.html" not in fetched  # outside the folder
    assert "/docs/private/salaries.html" not in fetched  # robots.txt
    assert report.errors == [
        {"source": site.url("/docs/private/salaries.html"), "error": "disallowed by robots.txt"}
    ]
    assert kb.search("zqtravel").hits[0].source == site.url("/docs/travel.md")
    travel = document(kb, site.url("/docs/travel.md"))
    assert (travel.format, travel.metadata["filename"]) == ("md", "travel.md")
    leave = document(kb, site.url("/docs/leave.html"))
    assert leave.title == "Parental leave"
    assert kb.search("zqleave").hits[0].document_title == "Parental leave"
    assert indexed_copy(kb.settings, leave).read_bytes() == site.pages["/docs/leave.html"].body


def test_resync_updates_changed_pages_and_deletes_gone_ones(kb: Kenning, site: FakeWebsite) -> None:
    kb.ingest_url(site.url("/docs/index.html"))
    site.page("/docs/leave.html", html("Parental leave", "Parents now get 26 weeks zqnewleave."))
    del site.pages["/docs/travel.md"]
    report = kb.ingest_url(site.url("/docs/index.html"))
    assert (report.updated, report.unchanged, report.deleted) == (1, 1, 1)
    assert site.url("/docs/travel.md") not in sources(kb)
    assert kb.search("zqtravel", mode=SearchMode.KEYWORD).hits == []
    assert kb.search("zqnewleave").hits[0].source == site.url("/docs/leave.html")
    assert not any(p.name.startswith(".fetch-") for p in kb.settings.web_dir.rglob("*"))


def test_a_page_that_fails_to_load_keeps_its_indexed_version(
    kb: Kenning, site: FakeWebsite
) -> None:
    kb.ingest_url(site.url("/docs/index.html"))
    site.page("/docs/travel.md", "server trouble", status=503)
    report = kb.ingest_url(site.url("/docs/index.html"))
    assert report.deleted == 0
    assert report.failed == 2
    assert kb.search("zqtravel").hits[0].source == site.url("/docs/travel.md")


def test_a_crawl_cut_short_by_max_pages_deletes_nothing_unseen(
    kb: Kenning, site: FakeWebsite
) -> None:
    kb.ingest_url(site.url("/docs/index.html"))
    report = kb.ingest_url(site.url("/docs/index.html"), max_pages=1)
    assert report.deleted == 0
    assert report.unchanged == 1
    assert len(sources(kb)) == 3


def test_unsupported_content_is_a_per_page_error(kb: Kenning, site: FakeWebsite) -> None:
    site.page("/docs/index.html", html("Index", "zqindex", ["logo.png", "leave.html"]))
    site.page("/docs/logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    report = kb.ingest_url(site.url("/docs/index.html"))
    assert report.added == 2
    (error,) = [e for e in report.errors if e["source"].endswith("logo.png")]
    assert "image/png" in error["error"]


def test_without_an_allowed_network_the_local_site_is_refused(
    tmp_path: Path, site: FakeWebsite
) -> None:
    with Kenning(data_dir=tmp_path / "strict") as kb:
        report = kb.ingest_url(site.url("/docs/index.html"))
        assert report.added == 0
        assert report.failed == 1
        assert "non-public" in report.errors[0]["error"]
        assert sources(kb) == set()
    assert site.requests == []
