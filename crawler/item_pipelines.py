"""Thin Scrapy item pipeline: collects fetched pages into batches and hands each batch to
``vigia.pipeline`` (extract → story clusters → classify → index) on worker threads, so the reactor
never waits for extraction, the model or the engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.spiders.news import FetchedPage
from vigia.config import CrawlSettings
from vigia.pipeline import Extracted, StagedRunner

if TYPE_CHECKING:
    from vigia.pipeline import ArticlePipeline
    from vigia.store import UpsertStats

log = logging.getLogger(__name__)


class BatchPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("VIGIA_BATCH_SIZE", CrawlSettings().batch_size)
        self.buffer: list[FetchedPage] = []
        self.runner: StagedRunner | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BatchPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.stats = spider.run_stats  # type: ignore[union-attr]
        pipeline: ArticlePipeline | None = spider.article_pipeline  # type: ignore[union-attr]
        if pipeline is None:  # fetch-only run (benchmarks)
            return
        self.runner = StagedRunner(
            [("extract", pipeline.extract), ("classify", _classify(pipeline)), ("index", _index(pipeline))],
            on_done=self._record,
            on_error=self._failed,
        )

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchedPage) and self.runner is not None:
            self.buffer.append(item)
            if len(self.buffer) >= self.batch_size:
                self._flush()
        return None

    def _flush(self) -> None:
        if self.buffer and self.runner is not None:
            self.runner.submit(self.buffer)
            self.buffer = []

    async def close_spider(self) -> None:
        self._flush()
        if self.runner is not None:
            await maybe_deferred_to_future(deferToThread(self.runner.drain))

    def _record(self, result: tuple[Extracted, dict[str, UpsertStats]]) -> None:
        extracted, per_source = result
        for source, n in extracted.no_article.items():
            self.stats.count(source, "no_article", n)
        for source, upsert in per_source.items():
            for name in ("created", "updated", "unchanged", "spooled"):
                self.stats.count(source, "new" if name == "created" else name, getattr(upsert, name))

    def _failed(self, error: BaseException) -> None:
        log.error("a batch failed in the article pipeline: %r", error, exc_info=error)
        self.stats.error("pipeline", type(error).__name__)


def _classify(pipeline: ArticlePipeline):
    def stage(extracted: Extracted) -> Extracted:
        pipeline.classify(extracted.articles)
        return extracted

    return stage


def _index(pipeline: ArticlePipeline):
    def stage(extracted: Extracted) -> tuple[Extracted, dict[str, UpsertStats]]:
        return extracted, pipeline.index(extracted.articles)

    return stage
