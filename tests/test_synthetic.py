"""The synthetic corpus of the benchmarks: loaded counts, realistic shape, planted bursts that the
trends show, and determinism by seed."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from synthetic import Corpus, load

from classifiers.taxonomy import load_taxonomy
from crawler.registry import load_registry
from vigia.models import LOCAL_TZ
from vigia.search import results
from vigia.search.query import Query
from vigia.search.trends import trends
from vigia.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=LOCAL_TZ)


def signature(corpus: Corpus) -> list[tuple]:
    return [(a.url, a.content_hash, a.published_at, tuple(a.violence_type), a.story_cluster) for a in corpus]


def test_same_seed_same_articles_other_seed_others() -> None:
    first, again, other = Corpus(1200, seed=5, now=NOW), Corpus(1200, seed=5, now=NOW), Corpus(1200, seed=6, now=NOW)
    assert signature(first) == signature(again) and first.bursts == again.bursts
    assert signature(first) != signature(other)
    assert len(signature(first)) == 1200


def test_shape_ids_dates_and_wire_copies() -> None:
    articles = list(Corpus(4000, seed=2, now=NOW))
    registry, labels = load_registry(), set(load_taxonomy().ids())
    assert {a.source for a in articles} <= set(registry.ids)
    assert {label for a in articles for label in a.violence_type + a.actor} <= labels
    assert all(NOW - timedelta(days=5 * 366) <= a.published_at <= NOW for a in articles)
    by_outlet = Counter(a.source for a in articles)
    assert by_outlet["laprensagrafica"] > 4 * by_outlet["elfaro"]  # big dailies publish more
    outlets_per_story = Counter(a.story_cluster for a in articles)
    wire = [cluster for cluster, n in outlets_per_story.items() if n > 1]
    assert len(wire) > 100
    copies = [a for a in articles if a.story_cluster == wire[0]]
    assert len({a.source for a in copies}) == len(copies) and len({a.title for a in copies}) == 1
    assert 0.5 < sum(bool(a.violence_type) for a in articles) / len(articles) < 0.8


def test_loaded_bursts_stand_out_in_trends(store: Store) -> None:
    corpus = Corpus(3000, seed=11, now=NOW)
    loaded, _ = load(store, corpus)
    assert loaded == store.count() == 3000
    stories = results.search(store, Query(), size=1)
    assert stories.stories is not None and stories.stories < 3000  # wire copies collapse
    assert [b.name for b in corpus.bursts] == ["desapariciones", "masacre", "extorsión"]
    for burst, interval in zip(corpus.bursts, ["week", "day", "day"], strict=True):
        assert results.count(store, burst.query(), now=NOW) >= burst.articles
        trend = trends(store, burst.query().replace(since=None, until=None), interval=interval, now=NOW)
        peak = max(range(len(trend.buckets)), key=lambda i: trend.series["total"][i])
        assert burst.start <= trend.buckets[peak] <= burst.end, burst.name
        inside = [n for b, n in zip(trend.buckets, trend.series["total"], strict=True) if burst.start <= b <= burst.end]
        outside = [
            n for b, n in zip(trend.buckets, trend.series["total"], strict=True) if not burst.start <= b <= burst.end
        ]
        assert sum(inside) >= burst.articles and sum(inside) >= 3 * max(outside), burst.name
