"""The URL fetcher refuses the server's own network (SSRF) at connect time, on every
redirect hop, and caps what it downloads; against a real HTTP server on loopback."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from kenning.errors import FetchError, FileTooLargeError, InvalidInputError, PermissionDeniedError
from kenning.ingest.web import AddressPolicy, WebFetcher, is_public, normalize_url
from tests.fakes.website import FakeWebsite

LOOPBACK_ONLY = [ipaddress.ip_network("127.0.0.1/32")]


@pytest.fixture
def site() -> Iterator[FakeWebsite]:
    with FakeWebsite() as site:
        yield site


def fetcher(allow: list[ipaddress.IPv4Network] | None = None, **options: int) -> WebFetcher:
    settings = {"max_bytes": 10_000, "max_redirects": 3, **options}
    return WebFetcher(
        AddressPolicy(allow or []),
        max_bytes=settings["max_bytes"],
        timeout_s=5,
        max_redirects=settings["max_redirects"],
        user_agent="kenning-test",
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo wrapping 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressPolicy().permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_permitted(address: str) -> None:
    assert AddressPolicy().permits(ipaddress.ip_address(address))


def test_an_allowed_network_admits_only_itself() -> None:
    policy = AddressPolicy(LOOPBACK_ONLY)
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert not policy.permits(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "http://user:secret@example.com/",
        "http:///no-host",
        "http://exa mple.com/",
        "http://example.com/\x00",
        "http://example.com:99999/",
        "https://example.com/" + "a" * 5000,
    ],
)
def test_unfetchable_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_url(url)


def test_normalisation_gives_one_name_per_page() -> None:
    assert normalize_url("HTTPS://Docs.Example.COM:443/a/b?q=1#top") == (
        "https://docs.example.com/a/b?q=1"
    )
    assert normalize_url("http://example.com") == "http://example.com/"
    assert normalize_url("http://example.com:8080/x") == "http://example.com:8080/x"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::1]"])
def test_loopback_under_any_spelling_is_refused_before_connecting(
    site: FakeWebsite, tmp_path: Path, host: str
) -> None:
    site.page("/secret", "internal admin page")
    with fetcher() as f, pytest.raises(PermissionDeniedError, match="non-public"):
        f.fetch(f"http://{host}:{site.port}/secret", tmp_path)
    assert site.requests == []
    assert list(tmp_path.iterdir()) == []


def test_an_allowed_network_is_fetched(site: FakeWebsite, tmp_path: Path) -> None:
    site.page("/docs/a.html", "<p>hello</p>")
    with fetcher(LOOPBACK_ONLY) as f:
        got = f.fetch(site.url("/docs/a.html"), tmp_path)
    assert got.status == 200
    assert got.content_type == "text/html"
    assert got.path.read_bytes() == b"<p>hello</p>"
    assert got.url == site.url("/docs/a.html")


def test_every_redirect_hop_is_checked(site: FakeWebsite, tmp_path: Path) -> None:
    """An allowed host may not bounce the fetcher to one that is not allowed."""
    site.redirect("/go", f"http://127.0.0.2:{site.port}/internal")
    site.redirect("/meta", "http://169.254.169.254/latest/meta-data/")
    with fetcher(LOOPBACK_ONLY) as f:
        with pytest.raises(PermissionDeniedError):
            f.fetch(site.url("/go"), tmp_path)
        with pytest.raises(PermissionDeniedError):
            f.fetch(site.url("/meta"), tmp_path)
        site.redirect("/file", "file:///etc/passwd")
        with pytest.raises(InvalidInputError):
            f.fetch(site.url("/file"), tmp_path)
    assert site.requests == ["/go", "/meta", "/file"]


def test_redirects_are_followed_up_to_the_limit(site: FakeWebsite, tmp_path: Path) -> None:
    site.page("/final", "done", content_type="text/plain")
    site.redirect("/r1", "/r2", 301)
    site.redirect("/r2", "/final", 308)
    for n in range(5):
        site.redirect(f"/loop{n}", f"/loop{n + 1}")
    with fetcher(LOOPBACK_ONLY) as f:
        got = f.fetch(site.url("/r1"), tmp_path)
        assert got.url == site.url("/final")
        assert got.path.read_text() == "done"
        with pytest.raises(FetchError, match="redirects"):
            f.fetch(site.url("/loop0"), tmp_path)


def test_http_errors_are_fetch_errors(site: FakeWebsite, tmp_path: Path) -> None:
    site.page("/broken", "oops", status=500)
    with fetcher(LOOPBACK_ONLY) as f:
        with pytest.raises(FetchError, match="HTTP 404"):
            f.fetch(site.url("/missing"), tmp_path)
        with pytest.raises(FetchError, match="HTTP 500"):
            f.fetch(site.url("/broken"), tmp_path)
    with fetcher(LOOPBACK_ONLY) as f, pytest.raises(FetchError, match="resolve"):
        f.fetch("http://no-such-host.invalid/", tmp_path)


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_over_the_limit_are_refused_and_leave_nothing(
    site: FakeWebsite, tmp_path: Path, chunked: bool
) -> None:
    site.page("/big", b"x" * 50_000, content_type="text/plain", chunked=chunked)
    site.page("/small", b"y" * 9_000, content_type="text/plain", chunked=chunked)
    with fetcher(LOOPBACK_ONLY, max_bytes=10_000) as f:
        with pytest.raises(FileTooLargeError):
            f.fetch(site.url("/big"), tmp_path)
        assert list(tmp_path.iterdir()) == []
        assert f.fetch(site.url("/small"), tmp_path).size == 9_000
