"""Engine requests for reading articles: filters, full text, highlights, sort order."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class SearchFilters:
    """What monitors filter on. Lists are OR within a field, AND across fields."""

    violence_type: list[str] = field(default_factory=list)
    actor: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[dict[str, Any]]:
        terms = [
            {"terms": {name: values}}
            for name in ("violence_type", "actor", "department", "source", "language")
            if (values := getattr(self, name))
        ]
        if self.since or self.until:
            bounds = {
                "gte": self.since.isoformat() if self.since else None,
                "lte": self.until.isoformat() if self.until else None,
            }
            terms.append({"range": {"published_at": {k: v for k, v in bounds.items() if v}}})
        return terms


def search_body(query: str | None, filters: SearchFilters | None, sort: str) -> dict[str, Any]:
    """The engine request for a query and filters: full text over title, lead and text, highlights."""
    must: list[dict[str, Any]] = []
    if query:
        must.append(
            {
                "simple_query_string": {
                    "query": query,
                    "fields": ["title^3", "lead^2", "text"],
                    "default_operator": "and",
                }
            }
        )
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters.clauses() if filters else []}},
        "highlight": {
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            # The text is HTML-escaped around the tags, so a literal "<mark>" in a crawled
            # page can never pass for a match marker (see highlight_fragments).
            "encoder": "html",
            "fields": {"title": {"number_of_fragments": 0}, "text": {"fragment_size": 180, "number_of_fragments": 2}},
        },
    }
    order = [{"published_at": {"order": "desc", "missing": "_last"}}, {"url": "asc"}]
    body["sort"] = ([{"_score": "desc"}] + order) if sort == "relevance" and query else order
    return body


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


def _agg_date(agg: dict[str, Any] | None) -> str | None:
    """A max-aggregation's value as ISO 8601 UTC (None when there were no documents)."""
    if not agg or agg.get("value") is None:
        return None
    return datetime.fromtimestamp(agg["value"] / 1000, tz=UTC).isoformat()


_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def highlight_fragments(snippet: str) -> list[tuple[str, bool]]:
    """An engine highlight (HTML-encoded, matches in ``<mark>``) as plain-text pieces, each
    with whether it is a match: renderers style the pieces and never parse crawled text."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _MARK.finditer(snippet):
        if match.start() > position:
            pieces.append((html.unescape(snippet[position : match.start()]), False))
        pieces.append((html.unescape(match[1]), True))
        position = match.end()
    if position < len(snippet):
        pieces.append((html.unescape(snippet[position:]), False))
    return pieces
