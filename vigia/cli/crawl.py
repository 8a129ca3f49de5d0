"""`vigia crawl` and `vigia sources status`: the crawler (``crawler/``) and its outlets."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.records import status_report
from crawler.registry import load_registry
from crawler.spiders.news import CrawlPlan
from vigia.cli.app import (
    EngineChoice,
    EngineOption,
    app,
    as_day,
    console,
    day_option,
    fail,
    group,
    open_store,
    settings_for,
)
from vigia.search.query import day_end, day_start

sources_app = group("The outlets of the source registry (crawler/sources.yaml).")
app.add_typer(sources_app, name="sources")


@app.command("crawl")
def crawl(
    since: datetime | None = day_option("Backfill from this day (YYYY-MM-DD, El Salvador time)."),
    until: datetime | None = day_option("Backfill up to this day, inclusive."),
    source: list[str] = typer.Option([], "--source", "-s", help="Only these registry ids (repeatable)."),
    url: str | None = typer.Option(None, "--url", help="Fetch, extract, classify and index this one page."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Crawl the registry's outlets: new articles since the last run (default), a backfill
    window (--since/--until, resumable), or one page (--url)."""
    from crawler.run import EXIT_SPOOLED, run_crawl  # starts Twisted: imported only when a crawl runs

    if url and (since or until or source):
        fail("--url fetches one page; drop --since/--until/--source, or drop --url")
    settings = settings_for(engine)
    plan = CrawlPlan(
        mode="url" if url else "backfill" if since or until else "incremental",
        sources=tuple(source),
        since=day_start(as_day(since)),
        until=day_end(as_day(until)),
        url=url,
        revisit_hours=settings.crawl.revisit_hours,
        max_listing_pages=settings.crawl.max_listing_pages,
    )
    result = run_crawl(settings, plan)
    table = Table(title=f"crawl {result.run_id} ({result.mode}, {result.close_reason}, {result.elapsed_s:.1f}s)")
    for column in ("source", "requests", "new", "updated", "unchanged", "skipped", "no article", "errors"):
        table.add_column(column, justify="left" if column in ("source", "errors") else "right")
    for r in result.records:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items())) or "-"
        counts = (str(r[k]) for k in ("requests", "new", "updated", "unchanged", "skipped", "no_article"))
        table.add_row(escape(r["source"]), *counts, escape(errors))
    Console().print(table)
    if result.close_reason != "finished":
        console.print(
            f"the crawl stopped early ({result.close_reason}); run the same command again to resume", markup=False
        )
    if result.spooled:
        console.print(
            f"finished, but the engine was unreachable: {result.total('spooled')} articles and "
            f"{result.records_spooled} crawl records are spooled in {settings.spool_path.parent}; they are written "
            "on the next run once the engine is up (`vigia engine start`)",
            markup=False,
        )
        raise typer.Exit(EXIT_SPOOLED)


@sources_app.command("status")
def sources_status(
    engine: EngineChoice | None = EngineOption,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per outlet."),
) -> None:
    """Per outlet: newest article, articles in the last 24 h / 7 days, crawl errors (24 h)."""
    store = open_store(engine)
    rows = status_report(store, load_registry())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="sources")
    for column in ("id", "name", "total", "24 h", "7 days", "last article", "last success", "errors 24 h"):
        table.add_column(column, justify="right" if column in ("total", "24 h", "7 days", "errors 24 h") else "left")
    for row in rows:
        silent = row["articles_7d"] == 0
        table.add_row(
            escape(row["id"]),
            escape(row["name"]),
            str(row["articles_total"]),
            str(row["articles_24h"]),
            f"[red]{row['articles_7d']}[/]" if silent else str(row["articles_7d"]),
            (row["last_article_at"] or "never")[:16],
            (row["last_success_at"] or "never")[:16],
            f"[red]{row['errors_24h']}[/]" if row["errors_24h"] else "0",
        )
    Console().print(table)
