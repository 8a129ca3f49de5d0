"""Bulk indexing throughput: Vigía's store vs the client's own `streaming_bulk` with defaults.

    python benchmarks/bulk_indexing.py [--docs 20000] [--engines elasticsearch,opensearch] [--dry-run]

Takes the CLI's settings (``vigia.config.get_settings()``: ``VIGIA_HOME``, ports, URL, credentials),
starts (or reuses) the local engines of that home (stopping those it started), then for each engine
indexes the same synthetic Spanish articles twice into fresh indices with the same template: once with
the raw helper (`elasticsearch.helpers.streaming_bulk` / `opensearchpy.helpers.streaming_bulk`,
default settings) and once through `Store.upsert`. Rounds alternate the order. Target: the
store's rate is at least 90% of the raw helper's.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import get_args

import elasticsearch.helpers
import opensearchpy.helpers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_articles

from vigia.config import EngineKind, Settings, get_settings
from vigia.engine import local_engine
from vigia.store import Store


def bench_settings(base: Settings, kind: EngineKind) -> Settings:
    """The CLI's settings for one engine kind, with a throwaway index prefix (dropped after each round)."""
    engine = base.engine.model_copy(update={"kind": kind})
    index = base.index.model_copy(update={"prefix": f"bench{uuid.uuid4().hex[:8]}"})
    return base.model_copy(update={"engine": engine, "index": index})


def fresh_store(base: Settings, kind: EngineKind) -> Store:
    settings = bench_settings(base, kind)
    local_engine(settings).start()
    store = Store(settings)
    store.init_indices()
    return store


def run_raw(store: Store, articles) -> float:
    helpers = elasticsearch.helpers if store.client.kind == "elasticsearch" else opensearchpy.helpers
    actions = ({"_index": store.alias("articles"), "_id": a.id, "_source": a.to_doc()} for a in articles)
    start = time.perf_counter()
    for ok, item in helpers.streaming_bulk(store.client.raw, actions):
        if not ok:
            raise RuntimeError(f"raw bulk failed: {item}")
    return time.perf_counter() - start


def run_store(store: Store, articles) -> float:
    start = time.perf_counter()
    stats = store.upsert(articles)
    elapsed = time.perf_counter() - start
    if stats.created != len(articles):
        raise RuntimeError(f"store indexed {stats.created} of {len(articles)}: {stats}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--engines", default="elasticsearch,opensearch")
    parser.add_argument("--dry-run", action="store_true", help="print the home and engine URLs it would use, then exit")
    args = parser.parse_args()
    base = get_settings()
    kinds: list[EngineKind] = args.engines.split(",")
    unknown = set(kinds) - set(get_args(EngineKind))
    if unknown:
        parser.error(f"unknown engine {', '.join(sorted(unknown))}: choose from {', '.join(get_args(EngineKind))}")
    if args.dry_run:
        for kind in kinds:
            settings = bench_settings(base, kind)
            print(f"{kind}: home {settings.home}, engine {settings.engine_url}")
        return
    articles = synthetic_articles(args.docs)
    mb = sum(len(a.text.encode()) for a in articles) / 1e6
    print(f"{args.docs} synthetic Spanish articles, {mb:.1f} MB of text, {args.rounds} rounds per engine")
    print(f"{'engine':<14}{'streaming_bulk docs/s':>24}{'vigia store docs/s':>22}{'ratio':>8}")
    for kind in kinds:
        engine = local_engine(bench_settings(base, kind))
        started_here = not engine.status().running
        rates: dict[str, list[float]] = {"raw": [], "store": []}
        for round_ in range(args.rounds):
            order = ["raw", "store"] if round_ % 2 == 0 else ["store", "raw"]
            for name in order:
                store = fresh_store(base, kind)
                docs = copy.deepcopy(articles)
                elapsed = (run_raw if name == "raw" else run_store)(store, docs)
                store.refresh()
                assert store.count() == args.docs, "not every document was indexed"
                rates[name].append(args.docs / elapsed)
                store.drop_indices()
        raw, ours = statistics.median(rates["raw"]), statistics.median(rates["store"])
        print(f"{kind:<14}{raw:>24.0f}{ours:>22.0f}{ours / raw:>8.2f}   (target ≥ 0.90)")
        if started_here:
            engine.stop()


if __name__ == "__main__":
    main()
