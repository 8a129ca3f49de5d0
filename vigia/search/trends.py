"""Coverage over time: articles or stories per day, week or month in El Salvador time, optionally
split by violence type, actor, outlet or department, zero-filled over the whole range, and
optionally normalised by the volume of the same outlets (what researchers compare across
outlets of different size)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from vigia.errors import InputError
from vigia.models import LOCAL_TZ
from vigia.search import request
from vigia.search.query import Query
from vigia.store import Store

Interval = Literal["day", "week", "month"]
Unit = Literal["articles", "stories"]


@dataclass
class Trend:
    """Counts per bucket (bucket starts in El Salvador time); ``series`` maps each split value
    (or ``"total"``) to one count per bucket; ``share`` holds the normalised values."""

    query: Query
    interval: Interval
    unit: Unit
    split_by: str | None
    buckets: list[datetime]
    series: dict[str, list[float]]
    normalized: bool = False
    baseline: list[int] = field(default_factory=list)  # all articles of the same outlets per bucket

    def rows(self) -> list[dict[str, Any]]:
        """One row per bucket: its start date and each series' value (for tables, CSV, JSON)."""
        return [
            {"bucket": start.date().isoformat(), **{name: values[i] for name, values in self.series.items()}}
            for i, start in enumerate(self.buckets)
        ]


def trends(
    store: Store,
    query: Query,
    interval: Interval = "week",
    split_by: str | None = None,
    unit: Unit = "articles",
    normalize: bool = False,
    now: datetime | None = None,
    top: int = 8,
) -> Trend:
    """The trend of ``query``. Normalised values are the share of all articles of the same outlets
    (the query's outlet filter, or every outlet) in each bucket: 0 where they published nothing."""
    if interval not in request.INTERVALS:
        raise InputError(f"interval {interval!r} is not known; use one of: {', '.join(request.INTERVALS)}")
    if split_by is not None and split_by not in request.SPLITS:
        raise InputError(f"split {split_by!r} is not known; use one of: {', '.join(request.SPLITS)}")
    now = now or datetime.now(LOCAL_TZ)
    since, until = query.window(now)
    extended = _extent(store, query, since, until, now)
    stories = unit == "stories"
    body = request.histogram_body(query, interval, split_by, stories, now, extended, split_size=top)
    raw = store.search_raw("articles", body)["aggregations"]["over_time"]["buckets"]
    buckets = [datetime.fromisoformat(b["key_as_string"]) for b in raw] if raw else []
    value = (lambda b: b["stories"]["value"]) if stories else (lambda b: b["doc_count"])
    series: dict[str, list[float]] = {}
    if split_by:
        names = _top_names(raw, top)
        for name in names:
            series[name] = [0] * len(raw)
        for i, bucket in enumerate(raw):
            for split in bucket["split"]["buckets"]:
                if split["key"] in series:
                    series[split["key"]][i] = value(split)
    else:
        series["total"] = [value(b) for b in raw]
    trend = Trend(query, interval, unit, split_by, buckets, series)
    if normalize:
        volume = Query(source=query.source, since=query.since, until=query.until)
        base_raw = store.search_raw("articles", request.histogram_body(volume, interval, None, False, now, extended))
        by_key = {b["key_as_string"]: b["doc_count"] for b in base_raw["aggregations"]["over_time"]["buckets"]}
        trend.baseline = [by_key.get(b["key_as_string"], 0) for b in raw]
        trend.series = {
            name: [v / base if base else 0.0 for v, base in zip(values, trend.baseline, strict=True)]
            for name, values in series.items()
        }
        trend.normalized = True
    return trend


def _extent(
    store: Store, query: Query, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime] | None:
    """The range to zero-fill: the query's dates, or (when open) the first and last match."""
    if since and until:
        return since, until
    if not (since or until):
        return None
    body = {
        "query": request.query_clause(query, now),
        "size": 0,
        "aggs": {"first": {"min": {"field": "published_at"}}, "last": {"max": {"field": "published_at"}}},
    }
    aggs = store.search_raw("articles", body)["aggregations"]
    return since or _instant(aggs["first"]) or now, until or now


def _instant(agg: dict[str, Any]) -> datetime | None:
    return datetime.fromtimestamp(agg["value"] / 1000, tz=LOCAL_TZ) if agg.get("value") is not None else None


def _top_names(raw: list[dict[str, Any]], top: int) -> list[str]:
    totals: dict[str, int] = {}
    for bucket in raw:
        for split in bucket["split"]["buckets"]:
            totals[split["key"]] = totals.get(split["key"], 0) + split["doc_count"]
    return sorted(totals, key=lambda k: (-totals[k], k))[:top]
