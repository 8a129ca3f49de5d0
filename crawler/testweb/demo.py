"""The demo crawl (``vigia demo``): the whole test web, crawled into the configured store."""

from __future__ import annotations

from crawler.run import CrawlResult, run_crawl_subprocess
from crawler.spiders.news import CrawlPlan
from crawler.testweb.server import TestWeb, TestWebServer
from vigia.config import Settings


def crawl_testweb(settings: Settings, faults: bool = False) -> CrawlResult:
    """Start the test web on 127.0.0.1, crawl every outlet of it into ``settings``' store
    (politeness delays off: the server is local), stop it, and return the crawl's stats."""
    with TestWebServer(TestWeb(faults=faults)) as server:
        crawl = settings.crawl.model_copy(update={"testweb_url": server.url, "polite": False})
        local = settings.model_copy(update={"crawl": crawl})
        result, _ = run_crawl_subprocess(local, CrawlPlan(revisit_hours=0, max_listing_pages=crawl.max_listing_pages))
    return result
