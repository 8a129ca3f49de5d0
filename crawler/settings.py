"""Scrapy settings of the Vigía crawler (the module ``scrapy.cfg`` names).

The values here hold for every run; :func:`for_run` lays the per-run values over them, taken
from Vigía's typed settings (``vigia.config``) and the outlet registry, so that there is one
place for each setting: politeness, limits and the user agent come from ``vigia.config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.settings import Settings as ScrapySettings

from crawler.registry import Registry
from vigia.config import Settings

BOT_NAME = "vigia"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.RetryAfterMiddleware": 560,
    "crawler.middlewares.NonHtmlFilterMiddleware": 570,
}
ITEM_PIPELINES = {"crawler.item_pipelines.BatchPipeline": 300}


def for_run(settings: Settings, registry: Registry, job_dir: Path | None, log_level: str = "INFO") -> ScrapySettings:
    """This module's settings with one run's values (Vigía settings, registry, job dir) on top."""
    crawl = settings.crawl
    polite = crawl.polite
    slots: dict[str, dict[str, Any]] = {}
    for source in registry.sources:
        override = source.politeness
        if override.concurrency is None and override.delay_s is None:
            continue
        for host in {*source.domains, *(f"www.{d}" for d in source.domains)}:
            slots[host] = {
                "concurrency": override.concurrency or crawl.concurrent_per_domain,
                "delay": (override.delay_s if override.delay_s is not None else crawl.download_delay_s)
                if polite
                else 0,
            }
    values: dict[str, Any] = {
        "USER_AGENT": crawl.user_agent_header,
        "CONCURRENT_REQUESTS": crawl.concurrent_total,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay_s if polite else 0,
        "RANDOMIZE_DOWNLOAD_DELAY": polite,
        "AUTOTHROTTLE_ENABLED": polite,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay_s, 1.0),
        "DOWNLOAD_SLOTS": slots,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout_s,
        "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
        "DOWNLOAD_WARNSIZE": crawl.max_response_bytes // 2,
        "RETRY_AFTER_MAX_S": crawl.max_retry_after_s,
        "LOG_LEVEL": log_level,
        "VIGIA_BATCH_SIZE": crawl.batch_size,
    }
    if crawl.testweb_url:
        handler = "crawler.middlewares.TestWebDownloadHandler"
        values["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
        values["VIGIA_TESTWEB_URL"] = crawl.testweb_url
    if job_dir is not None:
        values["JOBDIR"] = str(job_dir)
    result = ScrapySettings()
    result.setmodule(__name__, priority="project")
    result.update(values, priority="cmdline")
    return result
