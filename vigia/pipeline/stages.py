"""The batch hand-off after fetching: extract → dedupe → classify → index.

The crawler hands pages over in batches and never waits: each stage runs on its own thread
(:class:`StagedRunner`), so while one batch is classified the next is extracted and the
reactor keeps downloading. Stage timings are kept for the crawl benchmark.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from vigia.errors import NoArticle
from vigia.extract.article import ExtractHints, extract
from vigia.models import Article, FetchedPage

if TYPE_CHECKING:
    from classifiers.base import Tagger
    from vigia.store import Store, UpsertStats

log = logging.getLogger(__name__)


class Outlet(Protocol):
    """What extraction needs to know of an outlet (the registry's entries provide it)."""

    name: str
    body_xpath: str | None


class Clusterer(Protocol):
    def assign(self, articles: Sequence[Article]) -> None: ...


@dataclass
class Extracted:
    articles: list[Article] = field(default_factory=list)
    no_article: Counter[str] = field(default_factory=Counter)  # per source


@dataclass
class StageTimes:
    """Busy seconds and items per stage (what each stage costs, measured inside the run)."""

    seconds: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float, items: int) -> None:
        with self._lock:
            self.seconds[stage] += seconds
            self.items[stage] += items

    def rates(self) -> dict[str, float]:
        return {s: self.items[s] / self.seconds[s] for s in self.seconds if self.seconds[s] > 0}


class ArticlePipeline:
    """Turns fetched pages into indexed articles; each stage is callable alone (benchmarks)."""

    def __init__(
        self,
        store: Store,
        outlets: Mapping[str, Outlet],
        tagger: Tagger,
        clusterer: Clusterer | None = None,
        extract_processes: int = 0,
    ) -> None:
        self.store = store
        self.tagger = tagger
        self.clusterer = clusterer
        self.times = StageTimes()
        self._outlets = {source: (o.name, o.body_xpath) for source, o in outlets.items()}
        self._processes: ProcessPoolExecutor | None = None
        if extract_processes:
            # Extraction is CPU-bound Python: in the crawler's own process it would take turns
            # with Scrapy on one GIL. Spawned (not forked: the reactor has threads) and warmed up
            # now, so the start-up cost is not paid inside the crawl.
            self._processes = ProcessPoolExecutor(extract_processes, mp_context=multiprocessing.get_context("spawn"))
            for warm in [self._processes.submit(extract_pages, [], {}) for _ in range(extract_processes)]:
                warm.result()

    def extract(self, pages: Sequence[FetchedPage]) -> Extracted:
        started = time.perf_counter()
        if self._processes is not None:  # in a worker process: off this process's GIL
            result = self._processes.submit(extract_pages, list(pages), self._outlets).result()
        else:
            result = extract_pages(pages, self._outlets)
        self.times.add("extract", time.perf_counter() - started, len(pages))
        return result

    def close(self) -> None:
        if self._processes is not None:
            self._processes.shutdown()

    def classify(self, articles: list[Article]) -> list[Article]:
        started = time.perf_counter()
        if self.clusterer is not None:
            self.clusterer.assign(articles)
        # The standfirst is part of what the article reports: extraction keeps it out of `text`.
        docs = [(a.title, f"{a.lead}\n{a.text}" if a.lead else a.text) for a in articles]
        for article, tags in zip(articles, self.tagger.tag(docs), strict=True):
            article.violence_type = tags.violence_type
            article.actor = tags.actor
            article.department = tags.department
            article.municipality = tags.municipality
            article.in_el_salvador = tags.in_el_salvador
            article.label_scores = tags.scores
            article.classifier = self.tagger.name
        self.times.add("classify", time.perf_counter() - started, len(articles))
        return articles

    def index(self, articles: list[Article]) -> dict[str, UpsertStats]:
        """Upsert per source, so new/updated/unchanged can be reported per outlet."""
        started = time.perf_counter()
        by_source: dict[str, list[Article]] = defaultdict(list)
        for article in articles:
            by_source[article.source].append(article)
        stats = {source: self.store.upsert(group) for source, group in by_source.items()}
        self.times.add("index", time.perf_counter() - started, len(articles))
        return stats


def extract_pages(pages: Sequence[FetchedPage], outlets: dict[str, tuple[str, str | None]]) -> Extracted:
    """Extract articles from pages (``outlets``: source id → name, body XPath hint)."""
    result = Extracted()
    for page in pages:
        name, body_xpath = outlets[page.source]
        hints = ExtractHints(
            source=page.source,
            source_name=name,
            section=page.section,
            feed_date=page.link.date,
            feed_title=page.link.title,
            body_xpath=body_xpath,
            keywords=list(page.link.keywords),
        )
        try:
            article = extract(page.html, page.url, hints)
        except NoArticle as exc:
            log.info("no article at %s: %s", page.url, exc.reason)
            result.no_article[page.source] += 1
            continue
        article.crawled_at = page.fetched_at
        result.articles.append(article)
    return result


class StagedRunner:
    """Runs ``stages`` (each ``batch -> batch``) on one thread per stage, in order, so that
    consecutive batches overlap; ``submit`` returns at once, ``drain`` waits for all."""

    def __init__(
        self,
        stages: Sequence[tuple[str, Callable[[Any], Any]]],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.stages = list(stages)
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vigia-{name}") for name, _ in self.stages]
        self.on_done = on_done
        self.on_error = on_error
        self.pending: list[Future[Any]] = []

    def submit(self, batch: Any) -> None:
        future: Future[Any] = self.pools[0].submit(self.stages[0][1], batch)
        for pool, (_, stage) in zip(self.pools[1:], self.stages[1:], strict=True):
            future = pool.submit(_after, future, stage)
        future.add_done_callback(self._finished)
        self.pending.append(future)

    def _finished(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self.on_error(error)
        else:
            self.on_done(future.result())

    def drain(self) -> None:
        for future in list(self.pending):
            future.exception()  # waits; errors were reported by _finished
        for pool in self.pools:
            pool.shutdown(wait=True)


def _after(previous: Future[Any], stage: Callable[[Any], Any]) -> Any:
    return stage(previous.result())
