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
# What a result shows of another outlet's copy of its story.
COPY_FIELDS = ["url", "source", "source_name", "title", "published_at"]
# The first and last match of a query (the date range a page shows, the range a trend fills).
EXTENT_AGGS = {"first": {"min": {"field": "published_at"}}, "last": {"max": {"field": "published_at"}}}


def story_count() -> dict[str, Any]:
    """Distinct stories (copies of one story collapsed): exact up to 10,000 per bucket."""
    return {"cardinality": {"field": "story_cluster", "precision_threshold": 10000}}


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
                "_source": COPY_FIELDS,
            },
        }
        body["aggs"] = {"stories": story_count()}
        body["from"] = offset
    elif search_after:
        body["search_after"] = search_after
    else:
        body["from"] = offset
    return body


def facets_body(query: Query, now: datetime | None = None) -> dict[str, Any]:
    """Counts per value of each facet field for the query, plus the date range it covers."""
    aggs: dict[str, Any] = {name: {"terms": {"field": name, "size": size}} for name, size in FACETS.items()}
    return {"query": query_clause(query, now), "size": 0, "aggs": {**aggs, **EXTENT_AGGS}, "track_total_hits": True}


def extent_body(query: Query, now: datetime | None = None) -> dict[str, Any]:
    return {"query": query_clause(query, now), "size": 0, "aggs": EXTENT_AGGS}


def copies_body(story_cluster: str, size: int = 50) -> dict[str, Any]:
    """Every outlet's copy of one story, newest first."""
    return {
        "query": {"bool": {"filter": [{"term": {"story_cluster": story_cluster}}]}},
        "size": size,
        "sort": DATE_ORDER,
        "_source": COPY_FIELDS,
    }


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
    count = {"stories": story_count()} if stories else {}
    if split_by:
        histogram["aggs"] = {"split": {"terms": {"field": split_by, "size": split_size}, "aggs": count}}
    elif count:
        histogram["aggs"] = count
    return {"query": query_clause(query, now), "size": 0, "aggs": {"over_time": histogram}}


def windows_body(
    query: Query,
    volume: Query,
    start: datetime,
    end: datetime,
    window_hours: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Stories per consecutive window of ``window_hours`` ending exactly at ``end`` (what alerts
    compare), and the stories of the same outlets (``volume``) per window, in one request:
    the histogram runs over the volume and the watchlist's query is a filter inside it."""
    step_ms = window_hours * 3_600_000
    end_ms = int(end.timestamp() * 1000)
    stories = story_count()
    volume_clause = window_clause(volume, start, end, now)
    match = query_clause(query.replace(since=None, until=None), now)
    return {
        "query": volume_clause,
        "size": 0,
        "aggs": {
            "windows": {
                "date_histogram": {
                    "field": "published_at",
                    "fixed_interval": f"{window_hours}h",
                    "offset": f"{(end_ms % step_ms) // 1000}s",
                    "min_doc_count": 0,
                    "extended_bounds": {"min": int(start.timestamp() * 1000), "max": end_ms - 1},
                },
                "aggs": {"volume": stories, "match": {"filter": match, "aggs": {"stories": stories}}},
            }
        },
    }


def window_clause(query: Query, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
    """The query over [start, end), whatever dates it carries itself (alerts judge windows)."""
    clause = query_clause(query.replace(since=None, until=None), now)
    clause["bool"]["filter"].append({"range": {"published_at": {"gte": start.isoformat(), "lt": end.isoformat()}}})
    return clause


def stories_body(query: Query, start: datetime, end: datetime, exclude: list[str], size: int) -> dict[str, Any]:
    """Distinct stories matching ``query`` published in [start, end), newest first, leaving out
    stories already delivered (``exclude``): what `new` and `digest` alerts list."""
    clause = window_clause(query, start, end)
    if exclude:
        clause["bool"]["must_not"] = [{"terms": {"story_cluster": exclude}}]
    return {
        "query": clause,
        "size": size,
        "sort": list(DATE_ORDER),
        "collapse": {"field": "story_cluster"},
        "aggs": {"stories": story_count()},
    }


def outlet_rhythm_body(start: datetime, end: datetime, outlets: int = 500) -> dict[str, Any]:
    """Per outlet: its newest article and its articles per hour over [start, end) (the hours
    with any), from which outlet-silence alerts learn each outlet's rhythm by hour of day."""
    return {
        "query": {"range": {"published_at": {"gte": start.isoformat(), "lte": end.isoformat()}}},
        "size": 0,
        "aggs": {
            "outlets": {
                "terms": {"field": "source", "size": outlets},
                "aggs": {
                    "last": {"max": {"field": "published_at"}},
                    "first": {"min": {"field": "published_at"}},
                    "hours": {
                        "date_histogram": {
                            "field": "published_at",
                            "calendar_interval": "hour",
                            "time_zone": LOCAL_TZ.key,
                            "min_doc_count": 1,
                        }
                    },
                },
            }
        },
    }


def export_body(query: Query, now: datetime | None = None) -> dict[str, Any]:
    """Every matching article (all copies), in a stable order for point-in-time paging."""
    return {"query": query_clause(query, now), "sort": list(DATE_ORDER), "track_total_hits": True}
