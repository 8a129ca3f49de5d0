"""Crawl bookkeeping: per-source counters for one run (thread-safe: the spider and the
pipeline threads both count), the crawl records written to the ``crawls`` index, and the
per-outlet status that makes a silent outlet visible."""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.registry import Registry

# Counters every record has (the pipeline adds new/updated/unchanged/no_article/spooled).
COUNTERS = (
    "requests", "links", "new", "updated", "unchanged", "not_modified", "skipped",
    "no_article", "spooled", "listing_bound", "offsite_links",
)


def error_kind(failure: Failure) -> str:
    """A short, stable name for why a request failed (the keys of ``errors`` in a record)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        if "robots.txt" in message.lower():
            return "robots"
        if message.startswith("non_html"):
            return "non_html"
        return "offsite" if "offsite" in message.lower() else "ignored"
    if isinstance(exc, DownloadCancelledError) and "max" in str(exc).lower():
        return "too_large"
    kinds = {
        DownloadTimeoutError: "timeout",
        CannotResolveHostError: "dns",
        DownloadConnectionRefusedError: "connection",
    }
    return next((name for cls, name in kinds.items() if isinstance(exc, cls)), type(exc).__name__)


@dataclass
class RunStats:
    """Counters of one crawl run, per source."""

    mode: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counters: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    last_success: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, source: str, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[source][name] += n

    def error(self, source: str, kind: str) -> None:
        with self._lock:
            self.errors[source][kind] += 1

    def success(self, source: str) -> None:
        with self._lock:
            self.last_success[source] = datetime.now(UTC)

    def records(self, registry: Registry, finished_at: datetime | None = None) -> list[dict[str, Any]]:
        """One crawl record per source touched by the run."""
        finished_at = finished_at or datetime.now(UTC)
        touched = sorted(set(self.counters) | set(self.errors))
        names = {s.id: s.name for s in registry.sources}
        return [
            {
                "run_id": self.run_id,
                "mode": self.mode,
                "source": source,
                "source_name": names.get(source, source),
                "started_at": self.started_at.isoformat(),
                "finished_at": finished_at.isoformat(),
                **{name: self.counters[source][name] for name in COUNTERS},
                "errors": dict(self.errors[source]),
                "errors_total": sum(self.errors[source].values()),
                "last_success_at": self.last_success[source].isoformat() if source in self.last_success else None,
            }
            for source in touched
        ]


def status_report(store: Any, registry: Registry, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per outlet: articles total / last 24 h / last 7 days, the newest article, errors in the
    last 24 h and the last successful fetch. Outlets without any data still get a row."""
    now = now or datetime.now(UTC)
    day, week = (now - timedelta(hours=24)).isoformat(), (now - timedelta(days=7)).isoformat()
    size = len(registry.sources) + 10
    articles = store.search_raw(
        "articles",
        {
            "size": 0,
            "aggs": {
                "by_source": {
                    "terms": {"field": "source", "size": size},
                    "aggs": {
                        "last_article": {"max": {"field": "published_at"}},
                        "last_crawled": {"max": {"field": "crawled_at"}},
                        "day": {"filter": {"range": {"published_at": {"gte": day}}}},
                        "week": {"filter": {"range": {"published_at": {"gte": week}}}},
                    },
                }
            },
        },
    )
    crawls = store.search_raw(
        "crawls",
        {
            "size": 0,
            "aggs": {
                "by_source": {
                    "terms": {"field": "source", "size": size},
                    "aggs": {
                        "recent": {"filter": {"range": {"finished_at": {"gte": day}}}, "aggs": {"errors": {"sum": {"field": "errors_total"}}}},
                        "last_success": {"max": {"field": "last_success_at"}},
                        "last_run": {"max": {"field": "finished_at"}},
                    },
                }
            },
        },
    )
    by_article = {b["key"]: b for b in articles["aggregations"]["by_source"]["buckets"]}
    by_crawl = {b["key"]: b for b in crawls["aggregations"]["by_source"]["buckets"]}
    rows = []
    for source in registry.sources:
        a, c = by_article.get(source.id, {}), by_crawl.get(source.id, {})
        rows.append(
            {
                "id": source.id,
                "name": source.name,
                "articles_total": a.get("doc_count", 0),
                "articles_24h": a.get("day", {}).get("doc_count", 0),
                "articles_7d": a.get("week", {}).get("doc_count", 0),
                "last_article_at": _agg_date(a.get("last_article")),
                "last_crawled_at": _agg_date(a.get("last_crawled")),
                "errors_24h": int(c.get("recent", {}).get("errors", {}).get("value") or 0),
                "last_success_at": _agg_date(c.get("last_success")),
                "last_run_at": _agg_date(c.get("last_run")),
            }
        )
    return rows


def _agg_date(agg: dict[str, Any] | None) -> str | None:
    """A max-aggregation's value as ISO 8601 UTC (None when there were no documents)."""
    if not agg or agg.get("value") is None:
        return None
    return datetime.fromtimestamp(agg["value"] / 1000, tz=UTC).isoformat()
