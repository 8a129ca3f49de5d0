"""Downloader pieces Scrapy lacks: Retry-After on 429/503, and the test-web transport that
sends every request to the local test web while the rest of Scrapy (robots.txt, offsite
filter, redirects, retries) keeps seeing the registry's real URLs."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

log = logging.getLogger(__name__)

RETRY_AFTER_STATUSES = (429, 503)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """On 429/503 with Retry-After, the whole domain pauses for that long, then the request is
    retried (up to ``RETRY_AFTER_TIMES``); a wait over the configured maximum gives up."""

    def __init__(self, max_wait_s: float, max_times: int) -> None:
        self.max_wait_s = max_wait_s
        self.max_times = max_times
        self.blocked_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(
            crawler.settings.getfloat("RETRY_AFTER_MAX_S", 600.0), crawler.settings.getint("RETRY_AFTER_TIMES", 3)
        )

    async def process_request(self, request: Request) -> None:
        wait = self.blocked_until.get(_host(request.url), 0.0) - time.monotonic()
        if wait > 0:
            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in RETRY_AFTER_STATUSES:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After", b"").decode("latin-1") or None)
        times = request.meta.get("retry_after_times", 0)
        if wait is None or times >= self.max_times:
            return response
        if wait > self.max_wait_s:
            log.warning(
                "giving up on %s: Retry-After %.0fs exceeds the %.0fs maximum", request.url, wait, self.max_wait_s
            )
            return response
        host = _host(request.url)
        self.blocked_until[host] = max(self.blocked_until.get(host, 0.0), time.monotonic() + wait)
        log.info("%s answered %d: pausing %s for %.1fs (Retry-After)", request.url, response.status, host, wait)
        retry = request.replace(dont_filter=True)
        retry.meta["retry_after_times"] = times + 1
        return retry


class TestWebDownloadHandler(HTTP11DownloadHandler):
    """Test/demo transport: fetches ``https://<registry host>/path`` from the local test web
    (``VIGIA_TESTWEB_URL``), sending the real host in ``Host`` and the scheme in
    ``X-Forwarded-Proto``; the response keeps the real URL."""

    __test__ = False
    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        target = crawler.settings.get("VIGIA_TESTWEB_URL")
        if not target:
            raise NotConfigured("VIGIA_TESTWEB_URL is not set")
        super().__init__(crawler)
        self.target = urlsplit(target)
        if self.target.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise NotConfigured(f"the test web must be local, not {target}")

    async def download_request(self, request: Request) -> Response:
        parts = urlsplit(request.url)
        local = request.replace(url=urlunsplit(("http", self.target.netloc, parts.path or "/", parts.query, "")))
        local.headers["Host"] = parts.netloc
        local.headers["X-Forwarded-Proto"] = parts.scheme
        response = await super().download_request(local)
        return response.replace(url=request.url, request=request)


class NonHtmlFilterMiddleware:
    """Drops article responses that are not HTML (PDFs, images) with a logged reason."""

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("article") and response.status == 200:
            kind = response.headers.get("Content-Type", b"").decode("latin-1").lower()
            if "html" not in kind:
                log.warning("dropped %s: not HTML (%s)", request.url, kind or "no content type")
                raise IgnoreRequest(f"non_html: {kind}")
        return response


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
