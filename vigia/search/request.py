"""Queries become engine requests here, and nowhere else.

Every reader of the article index (search pages, facets, trends, exports, feeds, alerts) builds
its request body from a :class:`~vigia.search.query.Query` with these functions, so that a
filter means the same thing on the web page, in a CSV and in an alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vigia.models import LOCAL_TZ
from vigia.search.query import FILTERS, Query

TEXT_FIELDS = ["title^3", "lead^2", "text"]
# Newest first; the URL breaks ties, so that search_after pages are stable.
DATE_ORDER: list[dict[str, Any]] = [{"published_at": {"order": "desc", "missing": "_last"}}, {"url": "asc"}]
FACETS = {"violence_type": 20, "actor": 20, "department": 20, "source": 60, "language": 10}
# Calendar intervals of the engine's date histogram, by the names users give.
INTERVALS = {"day": "day", "week": "week", "month": "month"}
SPLITS = ("violence_type", "actor", "source", "department")


def query_clause(query: Query, now: datetime | None = None) -> dict[str, Any]:
    """The bool query: full text (simple query syntax) AND every filter."""
    must: list[dict[str, Any]] = []
    if query.text:
        must.append({"simple_query_string": {"query": query.text, "fields": TEXT_FIELDS, "default_operator": "and"}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filter_clauses(query, now)}}


def filter_clauses(query: Query, now: datetime | None = None) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [
        {"terms": {name: list(values)}} for name, _, _ in FILTERS if (values := getattr(query, name))
    ]
    if query.in_el_salvador is not None:
        clauses.append({"term": {"in_el_salvador": query.in_el_salvador}})
    since, until = query.window(now)
    if since or until:
        bounds = {"gte": since.isoformat() if since else None, "lte": until.isoformat() if until else None}
        clauses.append({"range": {"published_at": {k: v for k, v in bounds.items() if v}}})
    return clauses


def sort_order(query: Query) -> list[dict[str, Any]]:
    return [{"_score": "desc"}, *DATE_ORDER] if query.sort == "relevance" and query.text else list(DATE_ORDER)


def search_body(
    query: Query,
    size: int,
    offset: int = 0,
    search_after: list[Any] | None = None,
    now: datetime | None = None,
    copies: int = 10,
) -> dict[str, Any]:
    """One page of results with highlights. Stories collapse on ``story_cluster`` (each result
    brings up to ``copies`` other outlets' copies); all copies page with ``search_after``."""
    body: dict[str, Any] = {
        "query": query_clause(query, now),
        "size": size,
        "sort": sort_order(query),
        "track_total_hits": True,
        "highlight": {
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            # The text is HTML-escaped around the tags, so a literal "<mark>" in a crawled
            # page can never pass for a match marker (see results.highlight_fragments).
            "encoder": "html",
            "fields": {"title": {"number_of_fragments": 0}, "text": {"fragment_size": 180, "number_of_fragments": 2}},
        },
    }
    if query.stories:
        body["collapse"] = {
            "field": "story_cluster",
            "inner_hits": {
                "name": "copies",
                "size": copies,
                "sort": DATE_ORDER,
                "_source": ["url", "source", "source_name", "title", "published_at"],
            },
        }
        body["aggs"] = {"stories": {"cardinality": {"field": "story_cluster"}}}
        body["from"] = offset
    elif search_after:
        body["search_after"] = search_after
    else:
        body["from"] = offset
    return body


def facets_body(query: Query, now: datetime | None = None) -> dict[str, Any]:
    """Counts per value of each facet field for the query, plus the date range it covers."""
    aggs: dict[str, Any] = {name: {"terms": {"field": name, "size": size}} for name, size in FACETS.items()}
    aggs["first"] = {"min": {"field": "published_at"}}
    aggs["last"] = {"max": {"field": "published_at"}}
    return {"query": query_clause(query, now), "size": 0, "aggs": aggs, "track_total_hits": True}


def histogram_body(
    query: Query,
    interval: str,
    split_by: str | None = None,
    stories: bool = False,
    now: datetime | None = None,
    extended: tuple[datetime, datetime] | None = None,
    split_size: int = 20,
) -> dict[str, Any]:
    """Articles (or distinct stories) per calendar interval in El Salvador time, optionally per
    value of ``split_by``; ``extended`` makes the histogram cover the whole range (zero-filled)."""
    histogram: dict[str, Any] = {
        "date_histogram": {
            "field": "published_at",
            "calendar_interval": INTERVALS[interval],
            "time_zone": LOCAL_TZ.key,
            "min_doc_count": 0,
        }
    }
    if extended:
        histogram["date_histogram"]["extended_bounds"] = {
            "min": extended[0].isoformat(),
            "max": extended[1].isoformat(),
        }
    count = {"stories": {"cardinality": {"field": "story_cluster", "precision_threshold": 10000}}} if stories else {}
    if split_by:
        histogram["aggs"] = {"split": {"terms": {"field": split_by, "size": split_size}, "aggs": count}}
    elif count:
        histogram["aggs"] = count
    return {"query": query_clause(query, now), "size": 0, "aggs": {"over_time": histogram}}


def export_body(query: Query, now: datetime | None = None) -> dict[str, Any]:
    """Every matching article (all copies), in a stable order for point-in-time paging."""
    return {"query": query_clause(query, now), "sort": list(DATE_ORDER), "track_total_hits": True}
