"""`vigia demo`: the whole job end to end on this machine, with no internet.

Starts the local engine, serves the replayable test web (every registry outlet, on 127.0.0.1),
crawls it with the real Scrapy crawler through the registry's hostnames, extracts, classifies
and indexes, then prints what was indexed and a sample search. The demo writes to its own
indices (prefix ``demo``, recreated on each run), so its fixture articles never mix with live ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.infer import find_trained_model
from crawler.run import CrawlResult
from crawler.testweb.demo import crawl_testweb
from vigia.config import Settings
from vigia.engine import EngineStatus, local_engine
from vigia.store import SearchFilters, SearchPage, Store

DEMO_PREFIX = "demo"
SAMPLE_QUERY = "capturados"


@dataclass
class DemoResult:
    engine: EngineStatus
    classifier: str
    crawl: CrawlResult
    indexed: int
    by_type: dict[str, int]
    sample: SearchPage


def run_demo(settings: Settings) -> DemoResult:
    engine = local_engine(settings).start()
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"prefix": DEMO_PREFIX})})
    store = Store.from_settings(settings)
    store.drop_indices()  # every demo starts from an empty index, tagged by today's classifier
    store.init_indices()
    crawl = crawl_testweb(settings)
    store.refresh()
    by_type = _count_terms(store, "violence_type")
    sample = store.search(SAMPLE_QUERY, SearchFilters(violence_type=["arrest"]), size=5, sort="relevance")
    model = find_trained_model(settings)
    classifier = f"transformer {model.name}" if model else "keywords-placeholder (build the transformer with `vigia train --offline`)"
    return DemoResult(engine, classifier, crawl, store.count(), by_type, sample)


def _count_terms(store: Store, field: str) -> dict[str, int]:
    body = {"size": 0, "aggs": {"terms": {"terms": {"field": field, "size": 50}}}}
    buckets = store.search_raw("articles", body)["aggregations"]["terms"]["buckets"]
    return {b["key"]: b["doc_count"] for b in buckets}
