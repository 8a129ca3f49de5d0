"""The one registry-driven news spider: discovery documents → article requests → pages.

Per source it reads every discovery method of the registry entry (feeds, sitemaps and
indexes, Google News sitemaps, section listings, the WordPress API), keeps only URLs that the
source's patterns call articles, and asks the index which are already there: known articles
are skipped without a request, except young ones (``revisit_hours``), which get a conditional
request to catch updates.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

from crawler.discovery import (
    in_window,
    parse_feed,
    parse_listing,
    parse_sitemap,
    parse_wp_posts,
)
from crawler.records import RunStats, error_kind
from crawler.registry import Discovery, Registry, Source
from vigia.config import CrawlSettings
from vigia.extract.inputs import TooLarge
from vigia.models import Article, FetchedPage, Link, doc_id

if TYPE_CHECKING:
    from vigia.pipeline import ArticlePipeline

log = logging.getLogger(__name__)

Mode = Literal["incremental", "backfill", "url"]
BACKFILL_KINDS = ("sitemap", "news_sitemap", "wp_api")


@dataclass(frozen=True)
class CrawlPlan:
    """What one run crawls."""

    mode: Mode = "incremental"
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    url: str | None = None
    revisit_hours: float = 48.0
    max_listing_pages: int = 20


Lookup = Callable[[list[str]], dict[str, Article]]


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(
        self,
        plan: CrawlPlan,
        registry: Registry,
        lookup: Lookup,
        stats: RunStats,
        article_pipeline: ArticlePipeline | None,
        max_response_bytes: int = CrawlSettings().max_response_bytes,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.registry = registry
        self.lookup = lookup
        self.run_stats = stats
        self.article_pipeline = article_pipeline  # None: fetch only (benchmarks)
        self.max_response_bytes = max_response_bytes  # also the cap on what a .gz sitemap expands to
        self.allowed_domains = registry.domains
        self._scheduled: set[str] = set()

    # -- discovery -----------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.plan.mode == "url":
            assert self.plan.url
            source = self.registry.source_for(self.plan.url)
            assert source, "checked by the caller"
            yield self._article_request(source, Link(url=source.fetch_url(self.plan.url)), revisit=None)
            return
        for source in self.registry.select(list(self.plan.sources) or None):
            for discovery in self._methods(source):
                yield self._discovery_request(source, discovery)

    def _methods(self, source: Source) -> list[Discovery]:
        """Backfill uses the dated archives (sitemaps, WordPress API) when the source has any."""
        if self.plan.mode != "backfill":
            return list(source.discovery)
        dated = [d for d in source.discovery if d.kind in BACKFILL_KINDS]
        return dated or list(source.discovery)

    def _discovery_request(
        self, source: Source, discovery: Discovery, url: str | None = None, page: int = 1
    ) -> scrapy.Request:
        callbacks = {
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "news_sitemap": self.parse_sitemap,
            "listing": self.parse_listing,
            "wp_api": self.parse_wp_api,
        }
        if url is None:
            url = self._wp_api_url(discovery.url, page) if discovery.kind == "wp_api" else discovery.url
        return scrapy.Request(
            url,
            callback=callbacks[discovery.kind],
            errback=self.on_error,
            meta={"source": source.id, "discovery": discovery.kind, "page": page, "discovery_url": discovery.url},
        )

    def _wp_api_url(self, endpoint: str, page: int) -> str:
        params: dict[str, Any] = {
            "per_page": 100,
            "page": page,
            "orderby": "date",
            "_fields": "link,date_gmt,modified_gmt,title",
        }
        if self.plan.since:
            params["after"] = self.plan.since.astimezone(UTC).isoformat()
        if self.plan.until:
            params["before"] = self.plan.until.astimezone(UTC).isoformat()
        return f"{endpoint}?{urlencode(params)}"

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        yield from self._articles(source, parse_feed(response.body, response.url))

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        try:
            sitemap = parse_sitemap(response.body, self.max_response_bytes)
        except ValueError as exc:  # a decompression bomb (TooLarge) or corrupt gzip
            kind = "too_large" if isinstance(exc, TooLarge) else "bad_gzip"
            log.warning("skipped the sitemap %s (%s): %s", response.url, kind, exc)
            self.run_stats.error(source.id, kind)
            return
        for child in sitemap.children:
            newer = self.plan.since is None or child.modified is None or child.modified >= self.plan.since
            if newer and source.owns(child.url):
                yield scrapy.Request(
                    child.url,
                    callback=self.parse_sitemap,
                    errback=self.on_error,
                    meta={**response.meta, "discovery": "sitemap"},
                )
        yield from self._articles(source, sitemap.links)

    def parse_wp_api(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        links = parse_wp_posts(response.body)
        fresh = yield from self._articles(source, links)
        page = response.meta["page"]
        total = int(response.headers.get("X-WP-TotalPages", b"1") or 1)
        if page < min(total, self.plan.max_listing_pages) and self._wants_more(fresh, links):
            discovery = self._discovery_of(source, response)
            yield self._discovery_request(source, discovery, page=page + 1)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        source = self._source(response)
        links, next_url = parse_listing(response.body, response.url, lambda u: source.article_match(u) is not None)
        fresh = yield from self._articles(source, links)
        page = response.meta["page"]
        if next_url and source.owns(next_url) and self._wants_more(fresh, links):
            bound = source.politeness.max_listing_pages or self.plan.max_listing_pages
            if page >= bound:
                log.info("%s: listing %s stops at the %d-page bound", source.id, response.meta["discovery_url"], bound)
                self.run_stats.count(source.id, "listing_bound")
                return
            discovery = self._discovery_of(source, response)
            yield self._discovery_request(source, discovery, url=next_url, page=page + 1)

    def _wants_more(self, fresh: int, links: list[Link]) -> bool:
        """Backfill pages through everything; incremental stops at the first known article."""
        return bool(links) and (self.plan.mode == "backfill" or fresh == len(links))

    # -- articles ------------------------------------------------------------------------
    def _articles(self, source: Source, links: Iterable[Link]) -> Iterator[scrapy.Request]:
        """Requests for the links that are new (or young enough to revisit); returns how many
        links were not in the index (listings and the WordPress API page on while all are new).
        A link on an alias host is requested on the canonical host: one request per article."""
        candidates: dict[str, Link] = {}  # by document id: URL variants of one article are one
        for link in links:
            link = replace(link, url=safe_url_string(source.fetch_url(link.url)))  # the form requested and stored
            if source.article_match(link.url) is None:
                if not self.registry.source_for(link.url):
                    self.run_stats.count(source.id, "offsite_links")
                continue
            if self.plan.mode == "backfill" and not in_window(link, self.plan.since, self.plan.until):
                continue
            candidates.setdefault(doc_id(link.url), link)
        self.run_stats.count(source.id, "links", len(candidates))
        known = self.lookup([link.url for link in candidates.values()]) if candidates else {}
        fresh = 0
        for key, link in candidates.items():
            article = known.get(link.url)
            fresh += article is None
            if key in self._scheduled:  # another discovery document listed it in this run
                continue
            self._scheduled.add(key)
            if article is None:
                yield self._article_request(source, link, revisit=None)
            elif self._young(article, link):
                yield self._article_request(source, link, revisit=article)
            else:
                self.run_stats.count(source.id, "skipped")
        return fresh

    def _young(self, article: Article, link: Link) -> bool:
        if self.plan.mode != "incremental" or self.plan.revisit_hours <= 0:
            return False
        published = article.published_at or link.date
        if published is None:
            return False
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        age = datetime.now(UTC) - published
        return timedelta(0) <= age <= timedelta(hours=self.plan.revisit_hours)

    def _article_request(self, source: Source, link: Link, revisit: Article | None) -> scrapy.Request:
        headers = {}
        if revisit is not None and revisit.crawled_at is not None:
            seen = revisit.crawled_at if revisit.crawled_at.tzinfo else revisit.crawled_at.replace(tzinfo=UTC)
            headers["If-Modified-Since"] = format_datetime(seen.astimezone(UTC), usegmt=True)
        return scrapy.Request(
            link.url,
            callback=self.parse_article,
            errback=self.on_error,
            headers=headers,
            meta={
                "source": source.id,
                "article": True,
                "link": link,
                "revisit": revisit is not None,
                "handle_httpstatus_list": [304],
            },
        )

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        source = self._source(response)
        if response.status == 304:
            self.run_stats.count(source.id, "not_modified")
            return
        self.run_stats.success(source.id)
        yield FetchedPage(
            url=response.url,
            source=source.id,
            html=response.body,  # bytes: extraction decodes (a page may lie about its charset)
            fetched_at=datetime.now(UTC),
            link=response.meta["link"],
            section=source.section_of(response.url),
            revisit=response.meta["revisit"],
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind = error_kind(failure)
        log.warning("%s failed (%s): %s", request.url, kind, failure.getErrorMessage())
        self.run_stats.error(request.meta.get("source", "unknown"), kind)

    # -- helpers -------------------------------------------------------------------------
    def _source(self, response: Response) -> Source:
        return self.registry.get(response.meta["source"])

    @staticmethod
    def _discovery_of(source: Source, response: Response) -> Discovery:
        return next(d for d in source.discovery if d.url == response.meta["discovery_url"])
