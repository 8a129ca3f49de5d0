"""Request bodies of the store's own reads: per-outlet activity and term counts. (Queries that
people make are built in ``vigia.search.request``.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any


def source_activity_bodies(sources: list[str], now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-outlet aggregations over articles (volume, newest) and crawl records (errors, last success)."""
    day, week = (now - timedelta(hours=24)).isoformat(), (now - timedelta(days=7)).isoformat()
    size = len(sources) + 10
    articles = {
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
    }
    crawls = {
        "size": 0,
        "aggs": {
            "by_source": {
                "terms": {"field": "source", "size": size},
                "aggs": {
                    "recent": {
                        "filter": {"range": {"finished_at": {"gte": day}}},
                        "aggs": {"errors": {"sum": {"field": "errors_total"}}},
                    },
                    "last_success": {"max": {"field": "last_success_at"}},
                    "last_run": {"max": {"field": "finished_at"}},
                },
            }
        },
    }
    return articles, crawls


def source_activity(sources: list[str], articles: dict[str, Any], crawls: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two aggregations' answers as one row per outlet (zeros and None where no data)."""
    by_article = {b["key"]: b for b in articles["aggregations"]["by_source"]["buckets"]}
    by_crawl = {b["key"]: b for b in crawls["aggregations"]["by_source"]["buckets"]}
    rows = {}
    for source in sources:
        a, c = by_article.get(source, {}), by_crawl.get(source, {})
        rows[source] = {
            "articles_total": a.get("doc_count", 0),
            "articles_24h": a.get("day", {}).get("doc_count", 0),
            "articles_7d": a.get("week", {}).get("doc_count", 0),
            "last_article_at": _agg_date(a.get("last_article")),
            "last_crawled_at": _agg_date(a.get("last_crawled")),
            "errors_24h": int(c.get("recent", {}).get("errors", {}).get("value") or 0),
            "last_success_at": _agg_date(c.get("last_success")),
            "last_run_at": _agg_date(c.get("last_run")),
        }
    return rows


def term_counts_body(field: str, size: int = 50) -> dict[str, Any]:
    return {"size": 0, "aggs": {"terms": {"terms": {"field": field, "size": size}}}}


def agg_instant(agg: dict[str, Any] | None, tz: tzinfo = UTC) -> datetime | None:
    """A min/max aggregation of a date field as an instant (None when no document had one)."""
    if not agg or agg.get("value") is None:
        return None
    return datetime.fromtimestamp(agg["value"] / 1000, tz=tz)


def _agg_date(agg: dict[str, Any] | None) -> str | None:
    """As ISO 8601 UTC, the form the status report gives."""
    instant = agg_instant(agg)
    return instant.isoformat() if instant else None
