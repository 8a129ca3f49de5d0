"""`vigia demo`: the whole job end to end on this machine, with no internet.

Starts the local engine, serves the replayable test web (every registry outlet, on 127.0.0.1),
crawls it with the real Scrapy crawler through the registry's hostnames, extracts, classifies
and indexes, then prints what was indexed and a sample search. The demo writes to its own
indices (prefix ``demo``, recreated on each run), so its fixture articles never mix with live ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.infer import SHIPPED_MODEL, find_trained_model, model_name, read_meta
from crawler.run import CrawlResult, run_crawl_subprocess
from crawler.spiders.news import CrawlPlan
from crawler.testweb.server import TestWeb, TestWebServer
from vigia.cli.app import EngineChoice, EngineOption, app, console, settings_for
from vigia.cli.search import print_hits
from vigia.config import Settings
from vigia.engine import EngineStatus, local_engine
from vigia.search import results
from vigia.search.query import Query
from vigia.store import Store

DEMO_PREFIX = "demo"
SAMPLE_QUERY = "capturados"


@dataclass
class DemoResult:
    engine: EngineStatus
    classifier: str
    crawl: CrawlResult
    indexed: int
    by_type: dict[str, int]
    sample: results.Page


def run_demo(settings: Settings) -> DemoResult:
    engine = local_engine(settings).start()
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"prefix": DEMO_PREFIX})})
    store = Store.from_settings(settings)
    store.drop_indices()  # every demo starts from an empty index, tagged by today's classifier
    store.init_indices()
    crawl = crawl_testweb(settings)
    store.refresh()
    sample = results.search(store, Query(text=SAMPLE_QUERY, violence_type=("arrest",), sort="relevance"), size=5)
    model = find_trained_model(settings)
    classifier = (
        model_name(read_meta(model)) + (" (shipped)" if model == SHIPPED_MODEL else f" (built here: {model})")
        if model
        else "keywords-placeholder (the package lacks its model: reinstall vigia)"
    )
    return DemoResult(engine, classifier, crawl, store.count(), store.term_counts("violence_type"), sample)


def crawl_testweb(settings: Settings, faults: bool = False) -> CrawlResult:
    """Start the test web on 127.0.0.1, crawl every outlet of it into ``settings``' store
    (politeness delays off: the server is local), stop it, and return the crawl's stats."""
    with TestWebServer(TestWeb(faults=faults)) as server:
        crawl = settings.crawl.model_copy(update={"testweb_url": server.url, "polite": False})
        local = settings.model_copy(update={"crawl": crawl})
        result, _ = run_crawl_subprocess(local, CrawlPlan(revisit_hours=0, max_listing_pages=crawl.max_listing_pages))
    return result


@app.command("demo")
def demo(engine: EngineChoice | None = EngineOption) -> None:
    """Run the whole job here, offline: start the engine, crawl the local test web of every
    outlet, extract, classify, index, then print a summary and a sample search."""
    settings = settings_for(engine)
    console.print(f"starting {settings.engine.kind} (the first run downloads it from Maven Central) …", markup=False)
    result = run_demo(settings)
    crawl = result.crawl
    by_type = sorted(result.by_type.items(), key=lambda kv: -kv[1])
    console.print(
        f"{result.engine.kind} at {result.engine.url} (logs: {result.engine.log_file})\n"
        f"crawled the test web in {crawl.elapsed_s:.1f}s: {crawl.total('requests')} requests, "
        f"{crawl.total('new')} new, {crawl.total('updated')} updated, {crawl.total('no_article')} pages without article, "
        f"errors {crawl.errors() or 'none'}\n"
        f"classifier: {result.classifier}\n"
        f"{result.indexed} articles indexed in {DEMO_PREFIX}-articles; by violence type: "
        + (", ".join(f"{k} {v}" for k, v in by_type) or "none"),
        markup=False,
    )
    console.print(f"\nsample search: [bold]{SAMPLE_QUERY}[/] with --type arrest")
    print_hits(result.sample)
    console.print(
        f"more: VIGIA_INDEX__PREFIX={DEMO_PREFIX} vigia search 'homicidio' --type homicide --since 2026-11-01",
        markup=False,
    )
