"""Crawl benchmark: the whole test web, fetched, extracted, classified and indexed.

Each stage (fetch, extract, classify, index) runs alone on the same pages, and the whole crawl
end to end, with politeness delays off (the test web is local). On a small machine every stage
is CPU-bound, so the measure of overlap is the CPU bound, not the slowest stage: with each
stage's CPU-seconds per article measured alone (all processes of the machine: crawler, test
web, engine), no crawl can beat cores ÷ (sum of them). Goals (issue 13): end to end ≥ 0.8 × that
bound, and ≥ 25 articles/s with the shipped model.

    python benchmarks/crawl.py [--engine elasticsearch|opensearch] [--batch-size N]

Needs a running engine (`vigia engine start`) and an otherwise idle machine (the CPU counts are
machine-wide); uses throwaway index prefixes and drops them.
"""

from __future__ import annotations

import argparse
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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

GOAL_RATE, GOAL_RATIO = 25.0, 0.8


def machine_cpu_seconds() -> float:
    """CPU time spent by every process of the machine so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


@contextmanager
def measured(into: dict[str, tuple[float, float]], stage: str) -> Iterator[None]:
    """Record (wall seconds, machine CPU seconds) of the block under ``stage``."""
    wall, cpu = time.perf_counter(), machine_cpu_seconds()
    yield
    into[stage] = (time.perf_counter() - wall, machine_cpu_seconds() - cpu)


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
    parser.add_argument("--batch-size", type=int, default=None, help="articles per batch (default: the crawl setting)")
    args = parser.parse_args()
    base = get_settings()
    args.batch_size = args.batch_size or base.crawl.batch_size
    if args.engine:
        base = base.model_copy(update={"engine": base.engine.model_copy(update={"kind": args.engine})})
    web = TestWeb()
    n = len(web.article_urls)
    times: dict[str, tuple[float, float]] = {}  # stage → (wall s, machine CPU s)
    with TestWebServer(web) as server:
        # 1. fetch alone: the crawler without the article pipeline
        fetch_settings = settings_for(base, server.url, args.batch_size)
        with measured(times, "fetch"):
            run_crawl_subprocess(fetch_settings, CrawlPlan(revisit_hours=0), fetch_only=True)
        Store(fetch_settings).drop_indices()

        # 2-4. extract, classify, index alone, on the same pages
        stage_settings = settings_for(base, server.url, args.batch_size)
        store = Store(stage_settings)
        store.init_indices()
        pipeline = ArticlePipeline(store, load_registry().outlets(), load_tagger(stage_settings))
        pages = fetch_pages(web, server.url)
        with measured(times, "extract"):
            extracted = pipeline.extract(pages)
        articles = extracted.articles
        with measured(times, "classify"):
            pipeline.classify(articles)
        with measured(times, "index"):
            for i in range(0, len(articles), args.batch_size):
                pipeline.index(articles[i : i + args.batch_size])
        store.drop_indices()

        # 5. end to end: fetch → extract → classify → index, overlapping
        e2e_settings = settings_for(base, server.url, args.batch_size)
        with measured(times, "end to end"):
            result, _ = run_crawl_subprocess(e2e_settings, CrawlPlan(revisit_hours=0))
        indexed = result.total("new")
        Store(e2e_settings).drop_indices()

    per_stage = {"fetch": n, "extract": n, "classify": len(articles), "index": len(articles)}
    cpu_per_article = {stage: times[stage][1] / count for stage, count in per_stage.items()}
    cores = os.cpu_count() or 1
    bound = cores / sum(cpu_per_article.values())
    end_to_end = indexed / result.elapsed_s
    print(
        f"test web: {n} article pages, {indexed} indexed end to end; engine {base.engine.kind}; "
        f"classifier {pipeline.tagger.name}; batches of {args.batch_size}; {cores} cores"
    )
    print(f"{'stage (alone)':<16}{'articles/s':>12}{'CPU ms/article':>16}")
    for stage, count in per_stage.items():
        print(f"{stage:<16}{count / times[stage][0]:>12.1f}{1000 * cpu_per_article[stage]:>16.1f}")
    print(f"{'sum':<16}{'':>12}{1000 * sum(cpu_per_article.values()):>16.1f}")
    print(f"CPU bound: {cores} cores ÷ the sum = {bound:.1f} articles/s")
    cpu = times["end to end"][1]
    print(f"{'end to end':<16}{end_to_end:>12.1f}{1000 * cpu / max(indexed, 1):>16.1f}  ({result.elapsed_s:.2f}s)")
    in_run = ", ".join(f"{k} {v:.1f}/s busy" for k, v in result.stage_rates.items())
    print(f"inside the end-to-end run: {in_run}")
    print(
        f"end to end / CPU bound = {end_to_end / bound:.2f} (goal ≥ {GOAL_RATIO}); "
        f"end to end {'meets' if end_to_end >= GOAL_RATE else 'misses'} the {GOAL_RATE:.0f}/s goal"
    )


if __name__ == "__main__":
    main()
