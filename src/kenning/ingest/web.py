"""Fetching URLs for ingestion without becoming a proxy into the server's network (SSRF).

A URL source makes the server fetch addresses chosen by an API caller, so every
connection is checked where it is made, not where the URL is parsed:

- ``GuardedBackend`` resolves the host itself, refuses the connection if *any* resolved
  address is not public (loopback, private, link-local such as the 169.254.169.254 cloud
  metadata service, carrier-grade NAT, multicast, reserved, IPv4 inside IPv6), and then
  connects to the very address it checked. A DNS answer that changes between check and
  connect (rebinding) therefore cannot slip through, and TLS still verifies the host name.
- Redirects are followed by hand, at most ``max_redirects``, each hop going through the
  same guard and the same scheme check (http and https only, no credentials in URLs).
- Proxies from the environment are ignored: through a proxy the guard would vet the
  proxy's address instead of the target's.
- The body streams to a temporary file and is cut off at ``max_bytes``; only a complete
  body is renamed into place.

Operators who do want internal sites (an intranet wiki) list their networks in
``web.allow_networks``; nothing else is reachable.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from kenning.errors import FetchError, FileTooLargeError, InvalidInputError, PermissionDeniedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_URL = 4000


@dataclass(frozen=True, slots=True)
class Fetched:
    """A completely received response body, saved at ``path``."""

    url: str
    """The final URL, after redirects."""
    status: int
    content_type: str
    path: Path
    size: int


def normalize_url(url: str) -> str:
    """Canonical form used as a document's source: lower-case scheme and host, default
    port dropped, fragment removed, empty path as ``/``. Refuses what cannot be fetched."""
    if len(url) > _MAX_URL or any(ord(ch) < 33 or ch == "\x7f" for ch in url):
        raise InvalidInputError("unusable URL: too long or contains spaces/control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInputError(f"unusable URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInputError(f"only http and https URLs can be fetched, not {url!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError("URLs with credentials are refused; they would be stored")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInputError(f"URL without a host: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (the only default destination)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


class AddressPolicy:
    """Public addresses, plus the networks an operator explicitly allowed."""

    def __init__(self, allow_networks: Iterable[IPNetwork] = ()) -> None:
        self.allow_networks = tuple(allow_networks)

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allow_networks):
            return True
        return is_public(address)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to, all of them permitted, or an error."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        refused = sorted({str(a) for a in addresses if not self.permits(a)})
        if not addresses or refused:
            raise PermissionDeniedError(
                f"{host} resolves to a non-public address ({', '.join(refused)}); "
                "allow its network in web.allow_networks to fetch it"
            )
        return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only to addresses the policy permits."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                return self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # try the next address, like a browser
                last = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """An ``httpx`` transport whose connection pool dials through ``GuardedBackend``.

    httpx has no public hook for the network backend, so the pool it built is replaced;
    ``tests/ingest/test_web_fetch.py`` fails loudly if a future httpx stops using it.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(trust_env=False, retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            network_backend=GuardedBackend(policy),
        )


class WebFetcher:
    """Fetches one URL at a time through the guard; a small client, reused per sync."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_bytes: int,
        timeout_s: float,
        max_redirects: int,
        user_agent: str,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._client = httpx.Client(
            transport=_GuardedTransport(policy),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, folder: Path, *, accept: Sequence[str] = ("*/*",)) -> Fetched:
        """Download ``url`` into a new file in ``folder`` (the caller owns and removes it).

        Raises ``FetchError`` for network failures and non-2xx answers,
        ``PermissionDeniedError`` for addresses the policy refuses, ``FileTooLargeError``
        over ``max_bytes``, ``InvalidInputError`` for URLs that cannot be fetched at all.
        """
        current = normalize_url(url)
        for _ in range(self.max_redirects + 1):
            try:
                with self._client.stream(
                    "GET", current, headers={"Accept": ", ".join(accept)}
                ) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = normalize_url(urljoin(current, response.headers["location"]))
                        continue
                    if not 200 <= response.status_code < 300:
                        raise FetchError(f"{current} answered HTTP {response.status_code}")
                    return self._save(current, response, folder)
            except httpx.HTTPError as exc:
                raise FetchError(f"cannot fetch {current}: {_describe(exc)}") from exc
        raise FetchError(f"{url}: more than {self.max_redirects} redirects")

    def _save(self, url: str, response: httpx.Response, folder: Path) -> Fetched:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FileTooLargeError(
                f"{url} is {int(declared):,} bytes, over the limit of {self.max_bytes:,}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".fetch-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for block in response.iter_bytes(1 << 16):
                    size += len(block)
                    if size > self.max_bytes:
                        raise FileTooLargeError(
                            f"{url} is over the limit of {self.max_bytes:,} bytes"
                        )
                    out.write(block)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(url, response.status_code, content_type, Path(name), size)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
