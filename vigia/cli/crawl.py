"""`vigia crawl` and `vigia sources status`: the crawler (``crawler/``) and its outlets."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crawler.records import status_report
from crawler.registry import load_registry
from crawler.spiders.news import CrawlPlan
from crawler.verify import report_table, verify_sources
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
    title = f"crawl {result.run_id} ({result.mode}, {result.close_reason}, {result.elapsed_s:.1f}s)"
    table = Table(title=Text(title))  # Scrapy's close reason is not markup
    columns = ("source", "requests", "new", "updated", "unchanged", "skipped", "offsite links", "no article", "errors")
    for column in columns:
        table.add_column(column, justify="left" if column in ("source", "errors") else "right")
    for r in result.records:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items())) or "-"
        names = ("requests", "new", "updated", "unchanged", "skipped", "offsite_links", "no_article")
        counts = (str(r.get(k, 0)) for k in names)
        table.add_row(escape(r["source"]), *counts, escape(errors))
    Console().print(table)
    if note := offsite_note(result.records):
        console.print(note, markup=False)
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


def offsite_note(records: list[dict[str, Any]]) -> str | None:
    """Why a crawl found nothing when every link it saw was off the registry's domains
    (otherwise its table reads "0 new, errors -" with no reason)."""
    offsite = sum(r.get("offsite_links", 0) for r in records)
    if not offsite or sum(r.get(k, 0) for r in records for k in ("new", "updated", "unchanged")):
        return None
    return (
        f"no article was fetched: all {offsite} article links found were off the registry's domains (dropped "
        "as offsite); check the outlets' domains in crawler/sources.yaml"
    )


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


@sources_app.command("check")
def sources_check(urls: list[str] = typer.Argument(..., metavar="URL", help="Article or page URLs.")) -> None:
    """Which outlet and article pattern each URL falls under (or why none), with the canonical
    URL and document id it is stored under; exit 1 when any URL is not an article."""
    registry = load_registry()
    checks = [registry.check(url) for url in urls]
    for c in checks:
        typer.echo(json.dumps(asdict(c) | {"is_article": c.is_article}, ensure_ascii=False))
    raise typer.Exit(0 if all(c.is_article for c in checks) else 1)


@sources_app.command("verify")
def sources_verify(
    source: list[str] = typer.Option([], "--source", "-s", help="Only these registry ids (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per discovery URL."),
) -> None:
    """Fetch each outlet's discovery URLs once (robots.txt obeyed, the crawler's User-Agent) and
    report which answer, how many article links each yields and which patterns they match."""
    reports = verify_sources(load_registry(), settings_for().crawl, source)
    if as_json:
        typer.echo(json.dumps([asdict(r) | {"confirms": r.confirms} for r in reports], ensure_ascii=False))
    else:
        Console().print(report_table(reports))
