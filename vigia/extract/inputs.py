"""Reading one page to extract, named as on a command line: a local `.html` / `.html.gz` file
or an http(s) URL (fetched with a plain client: for one-off checks, not for crawling)."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from vigia.config import Settings
from vigia.errors import InputError


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
    path = Path(ref)
    if not path.is_file():
        raise PageError(f"{ref}: no such file (give a path to an .html or .html.gz file, or an http(s) URL)")
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise PageError(f"{ref}: cannot be read ({exc})") from exc
    return Page(data, url)


def _fetch(url: str, settings: Settings) -> Page:
    crawl = settings.crawl
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": crawl.user_agent.format(contact_url=crawl.contact_url),
            "Accept-Encoding": "identity",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=crawl.download_timeout_s) as response:
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
            f"{url}: larger than {crawl.max_response_bytes} bytes (VIGIA_CRAWL__MAX_RESPONSE_BYTES); save it and pass the file"
        )
    return Page(data, final_url)
