"""Search, trends and export speed on a realistic index: Vigía's layers beside raw engine requests.

    python benchmarks/search.py [--articles 200000] [--prefix bench] [--http URL] [--drop]

On N synthetic articles (``benchmarks/synthetic.py``; loaded first when the prefix holds another
number), with the CLI's settings (``VIGIA_HOME``, ``VIGIA_ENGINE__*``): 200 mixed searches
(filters, phrases, OR, exclusion, relative dates, stories or all copies, a third with facets; a
fixed seeded mix) through ``results.search`` + ``results.facets``; trends over five years by week
split by violence type; the export rate (rows/s, CSV rows written to /dev/null). Each figure is
measured the same way for hand-written JSON bodies sent with httpx straight to the engine, in the
same run and interleaved, so the overhead of our layers is visible. ``--http URL`` also times the
web page's search (each query's URL parameters appended to URL). Not a timed test: it prints.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import Corpus, load, settings_with_prefix

from vigia.models import LOCAL_TZ
from vigia.search import export as exporter
from vigia.search import results
from vigia.search.query import Query
from vigia.search.trends import trends
from vigia.store import Store

GOALS = {"search": 150.0, "http": 250.0, "trends": 300.0, "export": 5000.0}
TEXTS = [
    "",
    "",
    "",
    "extorsión",
    "capturan",
    '"fosa clandestina"',
    '"Policía Nacional Civil"',
    "asesinan | matan",
    "pandilleros -Barrio",
    "Soyapango",
    "desaparición",
    '"armas de fuego" | fusiles',
]
TYPES = ["", "", "homicide", "arrest", "extortion", "disappearance", "weapons", "feminicide"]
DEPARTMENTS = ["", "", "", "San Salvador", "La Libertad", "San Miguel", "Santa Ana", "Chalatenango"]
SOURCES = ["", "", "", "", "laprensagrafica", "elfaro", "diarioelsalvador", "pnc"]
SINCE = ["", "", "7d", "30d", "12w", "52w", "2024-01-01"]
CSV_FIELDS = ["published_at", "source", "url", "title", "violence_type", "actor", "department", "municipality"]


def search_mix(count: int = 200, seed: int = 42) -> list[dict[str, Any]]:
    """The fixed mix of searches: a seeded draw of words, filters, dates, collapse and facets."""
    rng = random.Random(seed)
    return [
        {
            "text": rng.choice(TEXTS),
            "type": rng.choice(TYPES),
            "department": rng.choice(DEPARTMENTS),
            "source": rng.choice(SOURCES),
            "since": rng.choice(SINCE),
            "stories": rng.random() < 0.7,
            "facets": i % 3 == 0,
        }
        for i in range(count)
    ]


def as_query(item: dict[str, Any]) -> Query:
    one = lambda key: (item[key],) if item[key] else ()  # noqa: E731
    return Query(
        text=item["text"],
        violence_type=one("type"),
        department=one("department"),
        source=one("source"),
        since=item["since"] or None,
        stories=item["stories"],
    )


# -- through Vigía's layers ------------------------------------------------------------------
def our_search(store: Store, item: dict[str, Any]) -> None:
    query = as_query(item)
    results.search(store, query, size=20)
    if item["facets"]:
        results.facets(store, query)


def our_trends(store: Store) -> None:
    trends(store, Query(since="260w"), interval="week", split_by="violence_type")


def export_rows(store: Store, query: Query, out: IO[bytes], limit: int) -> int:
    """``vigia export --format csv`` of up to ``limit`` matching articles into ``out``: every
    column, formula guard included; the number of rows written."""
    return exporter.write(itertools.islice(results.scan(store, query), limit), "csv", out)


# -- raw engine requests, written by hand ----------------------------------------------------
def raw_body(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The same search as a hand-written body (what a developer would send without our layers)."""
    filters: list[dict[str, Any]] = []
    for key, field in (("type", "violence_type"), ("department", "department"), ("source", "source")):
        if item[key]:
            filters.append({"terms": {field: [item[key]]}})
    since = item["since"]
    if since:
        if since[-1] in "dw":
            start = now - timedelta(days=int(since[:-1]) * (7 if since[-1] == "w" else 1))
        else:
            start = datetime.fromisoformat(since).replace(tzinfo=LOCAL_TZ)
        filters.append({"range": {"published_at": {"gte": start.isoformat()}}})
    must: list[dict[str, Any]] = [{"match_all": {}}]
    if item["text"]:
        must = [
            {
                "simple_query_string": {
                    "query": item["text"],
                    "fields": ["title^3", "lead^2", "text"],
                    "default_operator": "and",
                }
            }
        ]
    body: dict[str, Any] = {
        "query": {"bool": {"must": must, "filter": filters}},
        "size": 20,
        "sort": [{"published_at": {"order": "desc"}}, {"url": "asc"}],
        "track_total_hits": True,
        "highlight": {"fields": {"title": {"number_of_fragments": 0}, "text": {"fragment_size": 180}}},
    }
    if item["stories"]:
        body["collapse"] = {"field": "story_cluster", "inner_hits": {"name": "copies", "size": 10}}
        body["aggs"] = {"stories": {"cardinality": {"field": "story_cluster"}}}
    return body


def raw_search(http: httpx.Client, index: str, item: dict[str, Any], now: datetime) -> None:
    body = raw_body(item, now)
    http.post(f"/{index}/_search", json=body).raise_for_status()
    if item["facets"]:
        aggs = {f: {"terms": {"field": f, "size": 20}} for f in ("violence_type", "actor", "department", "language")}
        aggs["source"] = {"terms": {"field": "source", "size": 60}}
        aggs["first"], aggs["last"] = {"min": {"field": "published_at"}}, {"max": {"field": "published_at"}}
        facets = {"query": body["query"], "size": 0, "aggs": aggs, "track_total_hits": True}
        http.post(f"/{index}/_search", json=facets).raise_for_status()


def raw_trends(http: httpx.Client, index: str) -> None:
    """Resolved to the minute, like ``trends``, so both can be answered by the request cache."""
    now = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0)
    start = now - timedelta(weeks=260)
    body = {
        "size": 0,
        "query": {"range": {"published_at": {"gte": start.isoformat()}}},
        "aggs": {
            "weeks": {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": "week",
                    "time_zone": "America/El_Salvador",
                    "min_doc_count": 0,
                    "extended_bounds": {"min": start.isoformat(), "max": now.isoformat()},
                },
                "aggs": {"type": {"terms": {"field": "violence_type", "size": 20}}},
            }
        },
    }
    http.post(f"/{index}/_search", json=body).raise_for_status()


def raw_export(http: httpx.Client, index: str, out: Any, limit: int) -> int:
    """The same rows with a point in time and search_after by hand."""
    pit = http.post(f"/{index}/_pit", params={"keep_alive": "2m"}).json()["id"]
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    rows, after = 0, None
    try:
        while rows < limit:
            body: dict[str, Any] = {
                "size": 1000,
                "pit": {"id": pit, "keep_alive": "2m"},
                "sort": [{"published_at": {"order": "desc"}}, {"url": "asc"}],
            }
            if after:
                body["search_after"] = after
            hits = http.post("/_search", json=body).json()["hits"]["hits"]
            for hit in hits[: limit - rows]:
                doc = hit["_source"]
                writer.writerow([";".join(v) if isinstance(v := doc.get(f), list) else v for f in CSV_FIELDS])
            rows += min(len(hits), limit - rows)
            if len(hits) < 1000:
                break
            after = hits[-1]["sort"]
    finally:
        http.request("DELETE", "/_pit", json={"id": pit})
    return rows


# -- through HTTP (the web page) -------------------------------------------------------------
def http_latencies(base_url: str | None, mix: list[dict[str, Any]]) -> list[float] | None:
    """Milliseconds per search of the mix through the web page (``base_url`` + the query's URL
    parameters); None when no URL is given."""
    if not base_url:
        return None
    separator = "&" if "?" in base_url else "?"
    latencies = []
    with httpx.Client(timeout=30) as http:
        for item in mix:
            url = f"{base_url}{separator}{as_query(item).to_query_string()}"
            start = time.perf_counter()
            http.get(url).raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
    return latencies


# -- measuring -------------------------------------------------------------------------------
def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def p95(values: Iterable[float]) -> float:
    return statistics.quantiles(list(values), n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--trend-runs", type=int, default=30)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--http", help="The web page's search URL (e.g. http://127.0.0.1:8000/); skipped without.")
    parser.add_argument("--drop", action="store_true", help="Delete the prefix's indices at the end.")
    args = parser.parse_args()

    settings = settings_with_prefix(args.prefix)
    store = Store.from_settings(settings, replay=False)
    store.init_indices()
    if store.count() != args.articles:
        print(f"loading {args.articles:,} synthetic articles (seed {args.seed}) …", flush=True)
        store.drop_indices()
        loaded, seconds = load(store, Corpus(args.articles, seed=args.seed), progress_every=50_000)
        print(f"loaded {loaded:,} articles in {seconds:.0f} s ({loaded / seconds:,.0f}/s)")
    index = store.alias("articles")
    http = httpx.Client(base_url=settings.engine_url, auth=settings.engine_auth(), timeout=60, verify=False)
    print(f"{store.count():,} articles in {index} on {settings.engine.kind} ({settings.engine_url})")
    now = datetime.now(LOCAL_TZ)
    mix = search_mix(args.searches)
    for item in mix[:20]:  # warm both paths (caches, connections) before measuring
        our_search(store, item)
        raw_search(http, index, item, now)
    ours, raw = [], []
    for i, item in enumerate(mix):  # interleaved, alternating who goes first
        pair = [
            (ours, lambda item=item: our_search(store, item)),
            (raw, lambda item=item: raw_search(http, index, item, now)),
        ]
        for sink, call in pair if i % 2 == 0 else pair[::-1]:
            sink.append(timed(call))
    trend_ours, trend_raw = [], []
    our_trends(store), raw_trends(http, index)
    for i in range(args.trend_runs):
        pair = [(trend_ours, lambda: our_trends(store)), (trend_raw, lambda: raw_trends(http, index))]
        for sink, call in pair if i % 2 == 0 else pair[::-1]:
            sink.append(timed(call))
    with open("/dev/null", "wb") as ours_sink, open("/dev/null", "w", newline="") as raw_sink:
        start = time.perf_counter()
        rows_ours = export_rows(store, Query(), ours_sink, args.export_rows)
        rate_ours = rows_ours / (time.perf_counter() - start)
        start = time.perf_counter()
        rows_raw = raw_export(http, index, raw_sink, args.export_rows)
        rate_raw = rows_raw / (time.perf_counter() - start)
    via_http = http_latencies(args.http, mix)

    def row(name: str, ours: str, raw: str, goal: str = "", met: bool | None = None) -> None:
        mark = "" if met is None else ("  met" if met else "  MISSED")
        print(f"{name:<40}{ours:>14}{raw:>14}   {goal}{mark}")

    print()
    row("", "vigia layers", "raw engine", "goal")
    row(f"search, {len(mix)} mixed: median", f"{statistics.median(ours):.1f} ms", f"{statistics.median(raw):.1f} ms")
    row("search: p95", f"{p95(ours):.1f} ms", f"{p95(raw):.1f} ms", "≤ 150 ms", p95(ours) <= GOALS["search"])
    if via_http:
        row("search through HTTP: median", f"{statistics.median(via_http):.1f} ms", "")
        row("search through HTTP: p95", f"{p95(via_http):.1f} ms", "", "≤ 250 ms", p95(via_http) <= GOALS["http"])
    else:
        row("search through HTTP", "skipped", "", "≤ 250 ms (give --http URL of the web page)")
    row(
        f"trends 5 y weekly by type: median ({args.trend_runs})",
        f"{statistics.median(trend_ours):.1f} ms",
        f"{statistics.median(trend_raw):.1f} ms",
    )
    print("  (trends: both sides resolve 'five years ago' to the minute, so repeats may come from the request cache)")
    row("trends: p95", f"{p95(trend_ours):.1f} ms", f"{p95(trend_raw):.1f} ms", "≤ 300 ms", p95(trend_ours) <= 300)
    row(f"export ({rows_ours:,} rows, CSV)", f"{rate_ours:,.0f} rows/s", f"{rate_raw:,.0f} rows/s", "≥ 5,000 rows/s",
        rate_ours >= GOALS["export"])  # fmt: skip
    http.close()
    if args.drop:
        store.drop_indices()
        print(f"deleted the {args.prefix} indices")


if __name__ == "__main__":
    main()
