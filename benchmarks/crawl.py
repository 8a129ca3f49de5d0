"""Crawl benchmark: the whole test web, fetched, extracted, classified and indexed.

Reports articles/s end to end and for each stage measured alone (fetch, extract, classify,
index), with politeness delays off (the test web is local). Goals: ≥10 articles/s end to end,
and end to end ≥80% of the slowest stage alone (the stages overlap instead of waiting).

    python benchmarks/crawl.py [--engine elasticsearch|opensearch] [--batch-size 16]

Needs a running engine (`vigia engine start`); uses throwaway index prefixes and drops them.
"""

from __future__ import annotations

import argparse
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from classifiers.loader import load_tagger
from crawler.registry import load_registry
from crawler.run import run_crawl_subprocess
from crawler.spiders.news import CrawlPlan
from crawler.testweb.server import TestWeb, TestWebServer
from vigia.config import Settings, get_settings
from vigia.models import FetchedPage, Link
from vigia.pipeline import ArticlePipeline
from vigia.store import Store

GOAL_RATE, GOAL_RATIO = 10.0, 0.8


def settings_for(base: Settings, testweb_url: str, batch_size: int) -> Settings:
    crawl = base.crawl.model_copy(
        update={"testweb_url": testweb_url, "polite": False, "batch_size": batch_size, "revisit_hours": 0}
    )
    index = base.index.model_copy(update={"prefix": f"bench{uuid.uuid4().hex[:8]}"})
    return base.model_copy(update={"crawl": crawl, "index": index})


def fetch_pages(web: TestWeb, server_url: str) -> list[FetchedPage]:
    """The article pages, fetched directly (input for the stages measured alone)."""
    registry = web.fixtures.registry
    pages = []
    for url in web.article_urls:
        parts = urlsplit(url)
        request = urllib.request.Request(server_url + parts.path, headers={"Host": parts.netloc})
        html = urllib.request.urlopen(request).read().decode("utf-8", errors="replace")
        source = registry.source_for(url)
        assert source is not None
        pages.append(FetchedPage(url, source.id, html, datetime.now(UTC), Link(url), source.section_of(url), False))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["elasticsearch", "opensearch"], default=None)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    base = get_settings()
    if args.engine:
        base = base.model_copy(update={"engine": base.engine.model_copy(update={"kind": args.engine})})
    web = TestWeb()
    n = len(web.article_urls)
    rates: dict[str, float] = {}
    with TestWebServer(web) as server:
        # 1. fetch alone: the crawler without the article pipeline
        fetch_settings = settings_for(base, server.url, args.batch_size)
        fetched, _ = run_crawl_subprocess(fetch_settings, CrawlPlan(revisit_hours=0), fetch_only=True)
        rates["fetch"] = n / fetched.elapsed_s
        Store(fetch_settings).drop_indices()

        # 2-4. extract, classify, index alone, on the same pages
        stage_settings = settings_for(base, server.url, args.batch_size)
        store = Store(stage_settings)
        store.init_indices()
        pipeline = ArticlePipeline(store, load_registry().outlets(), load_tagger(stage_settings))
        pages = fetch_pages(web, server.url)
        started = time.perf_counter()
        extracted = pipeline.extract(pages)
        rates["extract"] = n / (time.perf_counter() - started)
        started = time.perf_counter()
        pipeline.classify(extracted.articles)
        rates["classify"] = len(extracted.articles) / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(0, len(extracted.articles), args.batch_size):
            pipeline.index(extracted.articles[i : i + args.batch_size])
        rates["index"] = len(extracted.articles) / (time.perf_counter() - started)
        store.drop_indices()

        # 5. end to end: fetch → extract → classify → index, overlapping
        e2e_settings = settings_for(base, server.url, args.batch_size)
        result, _ = run_crawl_subprocess(e2e_settings, CrawlPlan(revisit_hours=0))
        indexed = result.total("new")
        end_to_end = indexed / result.elapsed_s
        Store(e2e_settings).drop_indices()

    slowest = min(rates, key=rates.get)  # type: ignore[arg-type]
    ratio = end_to_end / rates[slowest]
    print(
        f"test web: {n} article pages, {indexed} indexed end to end; engine {base.engine.kind}; classifier {pipeline.tagger.name}"
    )
    print(f"{'stage':<12}{'articles/s':>12}")
    for stage, rate in rates.items():
        print(f"{stage:<12}{rate:>12.1f}{'  (slowest)' if stage == slowest else ''}")
    print(f"{'end to end':<12}{end_to_end:>12.1f}  ({result.elapsed_s:.2f}s)")
    in_run = ", ".join(f"{k} {v:.1f}/s busy" for k, v in result.stage_rates.items())
    print(f"inside the end-to-end run: {in_run}")
    print(
        f"end to end / slowest stage alone = {ratio:.2f} (goal ≥ {GOAL_RATIO}); end to end {'meets' if end_to_end >= GOAL_RATE else 'misses'} the {GOAL_RATE:.0f}/s goal"
    )


if __name__ == "__main__":
    main()
