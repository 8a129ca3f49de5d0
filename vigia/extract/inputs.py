"""Reading one page to extract, named as on a command line: a local `.html` / `.html.gz` file
or an http(s) URL (fetched with a plain client: for one-off checks, not for crawling).

Both are held to the crawl's limits: a page (a file, a download, a decompressed `.gz`) may not
exceed ``crawl.max_response_bytes``, and a URL, or any address it redirects to, must be a
public one (no loopback, private or link-local hosts: the machine's own services stay out of reach).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from vigia.config import Settings
from vigia.errors import InputError

_LIMIT_SETTING = "crawl.max_response_bytes (VIGIA_CRAWL__MAX_RESPONSE_BYTES)"


class PageError(InputError):
    """The page could not be read; the message names the input and the cause."""


@dataclass
class Page:
    html: bytes
    url: str  # the page's address ("" for a file given without one)


def load_page(ref: str, settings: Settings, url: str = "") -> Page:
    """The page named by `ref`; `url` is the address of a file's page, when known."""
    if ref.startswith(("http://", "https://")):
        return _fetch(ref, settings)
    return Page(_read_file(ref, settings.crawl.max_response_bytes), url)


def _read_file(ref: str, limit: int) -> bytes:
    """A local page, refused above ``limit`` bytes, before or after gzip decompression."""
    path = Path(ref)
    if path.is_dir():
        raise PageError(f"{ref}: is a directory; give the pages in it (e.g. {path / '*.html'})")
    if not path.is_file():
        raise PageError(f"{ref}: no such file (give a path to an .html or .html.gz file, or an http(s) URL)")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise PageError(f"{ref}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise PageError(f"{ref}: larger than the {limit}-byte page limit; raise {_LIMIT_SETTING} to read it")
    if path.suffix == ".gz":
        try:
            return decompress_capped(data, limit)
        except ValueError as exc:
            raise PageError(f"{ref}: {exc}") from exc
    return data


class TooLarge(ValueError):
    """Data that expands past its size limit (a decompression bomb?)."""


def decompress_capped(data: bytes, limit: int) -> bytes:
    """Gzip ``data`` unpacked, streaming, never holding more than ``limit`` + 1 bytes of output:
    a few MB of ``gzip -9`` zeros expand to GBs, so the limit holds while decompressing (crawled
    sitemaps and local files alike). :class:`TooLarge` past the limit, ValueError when corrupt."""
    out = bytearray()
    rest = data
    while rest:
        unpacker = zlib.decompressobj(zlib.MAX_WBITS | 16)  # gzip header and trailer
        try:
            out += unpacker.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise ValueError(f"not a valid gzip file ({exc})") from exc
        if len(out) > limit:
            raise TooLarge(f"decompresses to more than the {limit}-byte page limit; raise {_LIMIT_SETTING}")
        if not unpacker.eof:
            raise ValueError("the gzip data is truncated")
        rest = unpacker.unused_data  # a further gzip member, if any
    return bytes(out)


def check_public(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, a loopback, private, link-local or otherwise
    non-public address (as the crawl, which fetches registry outlets only, never reaches them)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PageError(f"{url}: only http(s) URLs with a host can be fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, ValueError) as exc:
        raise PageError(f"{url}: could not be fetched (cannot resolve {parts.hostname}: {exc})") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global:
            raise PageError(
                f"{url}: {parts.hostname} is {address}, not a public address (loopback, private or link-local); "
                "vigia extract fetches public pages only: save the page and pass the file"
            )


class _PublicRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a public address (see :func:`check_public`)."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        check_public(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def public_opener() -> urllib.request.OpenerDirector:
    """A URL opener whose redirects stay on public addresses."""
    return urllib.request.build_opener(_PublicRedirects())


def _fetch(url: str, settings: Settings) -> Page:
    crawl = settings.crawl
    check_public(url)
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": crawl.user_agent_header,
            "Accept-Encoding": "identity",
        },
    )
    try:
        with public_opener().open(request, timeout=crawl.download_timeout_s) as response:
            data = response.read(crawl.max_response_bytes + 1)
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        raise PageError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise PageError(f"{url}: could not be fetched ({exc.reason})") from exc
    except (TimeoutError, OSError) as exc:
        raise PageError(
            f"{url}: could not be fetched ({exc or type(exc).__name__}); timeout {crawl.download_timeout_s:g}s"
        ) from exc
    if len(data) > crawl.max_response_bytes:
        raise PageError(
            f"{url}: larger than the {crawl.max_response_bytes}-byte page limit; raise {_LIMIT_SETTING}, "
            "or save it and pass the file"
        )
    return Page(data, final_url)
