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
from vigia.store.queries import agg_instant

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
    baseline: list[int] = field(default_factory=list)  # all articles (or stories) of the same outlets per bucket
    # Split by outlet and normalised: each outlet's own volume per bucket (its series' denominator).
    baselines: dict[str, list[int]] = field(default_factory=dict)

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
    """The trend of ``query``: articles (or distinct stories) per bucket, the ``top`` values of
    ``split_by`` as series. Normalised values are the share of all articles (stories) of the same
    outlets in each bucket: the query's outlets or every outlet, and each outlet's own volume when
    split by outlet, so that outlets of different size compare; 0 where they published nothing."""
    if interval not in request.INTERVALS:
        raise InputError(f"interval {interval!r} is not known; use one of: {', '.join(request.INTERVALS)}")
    if split_by is not None and split_by not in request.SPLITS:
        raise InputError(f"split {split_by!r} is not known; use one of: {', '.join(request.SPLITS)}")
    # Relative dates resolve to the minute: the same chart asked again within a minute (a page
    # refreshed, several outlets compared) is the same request, answered from the shard request cache.
    now = now or datetime.now(LOCAL_TZ).replace(second=0, microsecond=0)
    since, until = query.window(now)
    extended = _extent(store, query, since, until, now)
    stories = unit == "stories"
    # Every value of the split field in each bucket (not each bucket's own top N), so that the
    # overall top N are counted exactly in every bucket.
    split_size = max(top, request.FACETS.get(split_by, top)) if split_by else top
    body = request.histogram_body(query, interval, split_by, stories, now, extended, split_size=split_size)
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
        _normalize(store, trend, raw, extended, now)
    return trend


def _normalize(
    store: Store, trend: Trend, raw: list[dict[str, Any]], extended: tuple[datetime, datetime] | None, now: datetime
) -> None:
    """Divide each series by the volume of the same outlets in the same unit: the query's outlets
    (or every outlet), and each outlet's own volume when the split is by outlet."""
    query, stories = trend.query, trend.unit == "stories"
    volume = Query(source=query.source, since=query.since, until=query.until)
    per_outlet = trend.split_by == "source"
    split = "source" if per_outlet else None
    size = max(len(trend.series), request.FACETS["source"])
    body = request.histogram_body(volume, trend.interval, split, stories, now, extended, split_size=size)
    base_raw = store.search_raw("articles", body)["aggregations"]["over_time"]["buckets"]
    by_key = {b["key_as_string"]: b for b in base_raw}
    count = (lambda b: b["stories"]["value"]) if stories else (lambda b: b["doc_count"])
    trend.baseline = [count(by_key[b["key_as_string"]]) if b["key_as_string"] in by_key else 0 for b in raw]
    if per_outlet:
        for name in trend.series:
            per_bucket = []
            for b in raw:
                splits = by_key[b["key_as_string"]]["split"]["buckets"] if b["key_as_string"] in by_key else []
                per_bucket.append(next((count(s) for s in splits if s["key"] == name), 0))
            trend.baselines[name] = per_bucket
    trend.series = {
        name: [
            v / base if base else 0.0 for v, base in zip(values, trend.baselines.get(name, trend.baseline), strict=True)
        ]
        for name, values in trend.series.items()
    }
    trend.normalized = True


def _extent(
    store: Store, query: Query, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime] | None:
    """The range to zero-fill: the query's dates, or (when open) the first and last match."""
    if since and until:
        return since, until
    if not (since or until):
        return None
    aggs = store.search_raw("articles", request.extent_body(query, now))["aggregations"]
    return since or agg_instant(aggs["first"], LOCAL_TZ) or now, until or now


def _top_names(raw: list[dict[str, Any]], top: int) -> list[str]:
    totals: dict[str, int] = {}
    for bucket in raw:
        for split in bucket["split"]["buckets"]:
            totals[split["key"]] = totals.get(split["key"], 0) + split["doc_count"]
    return sorted(totals, key=lambda k: (-totals[k], k))[:top]
