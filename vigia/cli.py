"""`vigia …`: the command line. Each command is thin: it parses and validates input, then calls
the module that does the work, and turns expected failures into one clear message (exit 2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from vigia.config import Settings, get_settings
from vigia.engine_client import EngineResponseError

app = typer.Typer(
    help="Vigía: monitor news about violence in El Salvador (crawl, extract, classify, index, search).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
engine_app = typer.Typer(help="Run a local Elasticsearch or OpenSearch (no Docker needed).", no_args_is_help=True)
index_app = typer.Typer(help="Create and inspect the indices.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")
app.add_typer(index_app, name="index")

console = Console(stderr=True, soft_wrap=True)


class EngineChoice(str, Enum):
    elasticsearch = "elasticsearch"
    opensearch = "opensearch"


EngineOption = typer.Option(None, "--engine", "-e", help="Engine to use (default: VIGIA_ENGINE__KIND or elasticsearch).")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def settings_for(engine: EngineChoice | None) -> Settings:
    """Settings, with the engine kind overridden by --engine when given."""
    settings = load_settings()
    if engine is not None:
        settings = settings.model_copy(update={"engine": settings.engine.model_copy(update={"kind": engine.value})})
    return settings


def load_settings() -> Settings:
    try:
        return get_settings()
    except (ValidationError, ValueError) as exc:
        fail(f"invalid configuration: {exc}")


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


SV_TIME = ZoneInfo("America/El_Salvador")


def day_option(help: str):  # noqa: A002 (typer's word)
    """A YYYY-MM-DD option; typer rejects other forms with a message naming the format."""
    return typer.Option(None, formats=["%Y-%m-%d"], help=help)


def day_start(day: datetime | None) -> datetime | None:
    return day.replace(tzinfo=SV_TIME) if day else None


def day_end(day: datetime | None) -> datetime | None:
    """The last second of the day: --until is inclusive in every command."""
    return day.replace(hour=23, minute=59, second=59, tzinfo=SV_TIME) if day else None


@contextmanager
def user_errors() -> Iterator[None]:
    """Expected failures (engine down, bad credentials, bad input) become one line, not a trace."""
    from vigia.engine import EngineError
    from vigia.store import StoreError

    try:
        yield
    except (EngineError, StoreError) as exc:
        fail(str(exc))


@engine_app.command("start")
def engine_start(engine: EngineChoice | None = EngineOption) -> None:
    """Start the local engine (downloads it from Maven Central once); a no-op when it runs."""
    from vigia.engine import local_engine

    settings = settings_for(engine)
    with user_errors():
        status = local_engine(settings).start()
    console.print(f"{status.kind} is {status.health} at {status.url} (pid {status.pid}); logs: {status.log_file}")


@engine_app.command("stop")
def engine_stop(engine: EngineChoice | None = EngineOption) -> None:
    """Stop the engine that `vigia engine start` started (only that process)."""
    from vigia.engine import local_engine

    settings = settings_for(engine)
    stopped = local_engine(settings).stop()
    console.print(f"{settings.engine.kind} {'stopped' if stopped else 'was not running (nothing to stop)'}")


@engine_app.command("status")
def engine_status(
    engine: EngineChoice | None = EngineOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show whether the local engine runs, its URL, health and log file; exit 1 when it is down."""
    from vigia.engine import local_engine

    status = local_engine(settings_for(engine)).status()
    if as_json:
        typer.echo(json.dumps(asdict(status)))
    elif status.running:
        console.print(f"{status.kind}: running at {status.url}, health {status.health}, pid {status.pid}, logs {status.log_file}")
    else:
        console.print(f"{status.kind}: not running (start it with `vigia engine start --engine {status.kind}`)")
    raise typer.Exit(0 if status.running else 1)


def open_store(engine: EngineChoice | None = None, replay: bool = True):
    """A store on the configured engine; the spool is replayed on connect."""
    from vigia.store import Store

    with user_errors():
        return Store.from_settings(settings_for(engine), replay=replay)


@index_app.command("init")
def index_init(engine: EngineChoice | None = EngineOption) -> None:
    """Create or update the index templates, first indices and write aliases (idempotent)."""
    store = open_store(engine)
    with user_errors():
        names = store.init_indices()
    console.print(f"ready: {', '.join(names)} on {store.client.kind} at {store.client.url} (analysis: {store.analysis_mode})")


@index_app.command("status")
def index_status(engine: EngineChoice | None = EngineOption) -> None:
    """Per index alias: the indices behind it and how many documents they hold."""
    store = open_store(engine)
    with user_errors():
        for name in store.templates():
            alias = store.alias(name)
            try:
                indices = sorted(store.client.request("GET", f"/_alias/{alias}"))
            except EngineResponseError:
                console.print(f"{alias}: missing (create it with `vigia index init`)")
                continue
            console.print(f"{alias} → {', '.join(indices)}: {store.count(name)} documents")


# -- crawling (crawler/) ----------------------------------------------------------------------
sources_app = typer.Typer(help="The outlets of the source registry (crawler/sources.yaml).", no_args_is_help=True)
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
    from crawler.registry import RegistryError
    from crawler.run import run_crawl
    from crawler.spiders.news import CrawlPlan

    if url and (since or until or source):
        fail("--url fetches one page; drop --since/--until/--source, or drop --url")
    settings = settings_for(engine)
    plan = CrawlPlan(
        mode="url" if url else "backfill" if since or until else "incremental",
        sources=tuple(source),
        since=day_start(since),
        until=day_end(until),
        url=url,
        revisit_hours=settings.crawl.revisit_hours,
        max_listing_pages=settings.crawl.max_listing_pages,
    )
    try:
        with user_errors():
            result = run_crawl(settings, plan)
    except (RegistryError, KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    table = Table(title=f"crawl {result.run_id} ({result.mode}, {result.close_reason}, {result.elapsed_s:.1f}s)")
    for column in ("source", "requests", "new", "updated", "unchanged", "skipped", "no article", "errors"):
        table.add_column(column, justify="left" if column in ("source", "errors") else "right")
    for r in result.records:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items())) or "-"
        table.add_row(r["source"], *(str(r[k]) for k in ("requests", "new", "updated", "unchanged", "skipped", "no_article")), errors)
    Console().print(table)
    if result.close_reason != "finished":
        console.print(f"the crawl stopped early ({result.close_reason}); run the same command again to resume")


@sources_app.command("status")
def sources_status(
    engine: EngineChoice | None = EngineOption,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per outlet."),
) -> None:
    """Per outlet: newest article, articles in the last 24 h / 7 days, crawl errors (24 h)."""
    from crawler.records import status_report
    from crawler.registry import RegistryError, load_registry

    store = open_store(engine)
    try:
        with user_errors():
            rows = status_report(store, load_registry())
    except RegistryError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="sources")
    for column in ("id", "name", "total", "24 h", "7 days", "last article", "last success", "errors 24 h"):
        table.add_column(column, justify="right" if column in ("total", "24 h", "7 days", "errors 24 h") else "left")
    for row in rows:
        silent = row["articles_7d"] == 0
        table.add_row(
            row["id"],
            row["name"],
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
    from crawler.registry import RegistryError, load_registry

    try:
        checks = [load_registry().check(url) for url in urls]
    except RegistryError as exc:
        fail(str(exc))
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
    from crawler.registry import RegistryError, load_registry
    from crawler.verify import report_table, verify_sources

    try:
        reports = verify_sources(load_registry(), load_settings().crawl, source)
    except (RegistryError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        typer.echo(json.dumps([asdict(r) | {"confirms": r.confirms} for r in reports], ensure_ascii=False))
    else:
        Console().print(report_table(reports))


@app.command("extract")
def extract_pages(
    inputs: list[str] = typer.Argument(..., metavar="FILE_OR_URL", help="Pages: .html or .html.gz files, or http(s) URLs."),
    url: str = typer.Option("", "--url", help="The address of the page in a single FILE (for dates and links)."),
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON line per input, even for a single input."),
) -> None:
    """Print the extracted article of each page as JSON (one line per input when several).
    A page that fails prints {"input", "error"}; the exit code is 1 if any failed."""
    from vigia.extract import NoArticle, extract, extraction_record
    from vigia.pages import PageError, load_page

    if url and len(inputs) > 1:
        fail("--url names the address of one page: give a single FILE with it")
    settings = load_settings()
    failed = 0
    for ref in inputs:
        try:
            page = load_page(ref, settings, url)
            record = {"input": ref, **extraction_record(extract(page.html, page.url))}
        except (PageError, NoArticle) as exc:
            failed += 1
            console.print(f"[bold red]error:[/] {ref}: {exc}" if isinstance(exc, NoArticle) else f"[bold red]error:[/] {exc}", highlight=False)
            record = {"input": ref, "error": str(exc)}
        print(json.dumps(record, ensure_ascii=False, indent=None if jsonl or len(inputs) > 1 else 2), flush=True)
    if failed:
        raise typer.Exit(1)


@app.command("search")
def search(
    query: str = typer.Argument(None, help="Words to find in title and text (Elasticsearch simple query syntax)."),
    violence_type: list[str] = typer.Option([], "--type", "-t", help="Violence type id (repeatable), e.g. homicide."),
    actor: list[str] = typer.Option([], "--actor", "-a", help="Actor id (repeatable), e.g. ms13."),
    department: list[str] = typer.Option([], "--department", "-d", help="Department (repeatable), e.g. 'San Salvador'."),
    source: list[str] = typer.Option([], "--source", "-s", help="Outlet id (repeatable), e.g. elfaro."),
    since: datetime | None = day_option("Published on or after this day (YYYY-MM-DD, El Salvador time)."),
    until: datetime | None = day_option("Published on or before this day, inclusive."),
    limit: int = typer.Option(10, min=1, max=1000, help="How many articles to show."),
    stories: bool = typer.Option(False, "--stories", help="One article per story (collapse wire copies)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Find indexed articles by what, who and where; newest first."""
    from vigia.store import SearchFilters

    check_known("--type", violence_type, "violence_type")
    check_known("--actor", actor, "actor")
    check_known("--department", department, "department")
    filters = SearchFilters(
        violence_type=violence_type, actor=actor, department=department, source=source,
        since=day_start(since), until=day_end(until),
    )  # fmt: skip
    store = open_store(engine)
    with user_errors():
        page = store.search(query, filters, size=limit, collapse_stories=stories)
    if as_json:
        for hit in page.hits:
            typer.echo(json.dumps({**hit.article.to_doc(), "highlight": hit.highlight}, ensure_ascii=False))
        return
    print_hits(page)


def check_known(option: str, values: list[str], field: str) -> None:
    """Filter values must be taxonomy ids or department names: a typo would silently match nothing."""
    from classifiers.places import gazetteer
    from classifiers.taxonomy import load_taxonomy

    known = gazetteer().departments if field == "department" else load_taxonomy().ids(field)
    unknown = [v for v in values if v not in known]
    if unknown:
        fail(f"{option} {', '.join(map(repr, unknown))} is not known; use one of: {', '.join(known)}")


def print_hits(page) -> None:
    from rich.markup import escape

    table = Table(title=f"{page.total} articles", show_lines=True)
    for column in ("published", "source", "title / match", "tags"):
        table.add_column(column)
    for hit in page.hits:
        a = hit.article
        # Crawled text is hostile input: escape it before it meets rich's markup.
        snippet = escape(" … ".join(hit.highlight.get("text", [])[:1])).replace("<mark>", "[bold]").replace("</mark>", "[/bold]")
        table.add_row(
            a.published_at.astimezone(SV_TIME).strftime("%Y-%m-%d %H:%M") if a.published_at else "?",
            escape(a.source),
            f"{escape(a.title)}\n[dim]{snippet}[/dim]" if snippet else escape(a.title),
            escape(", ".join(a.violence_type + a.actor + a.department)),
        )
    Console().print(table)


@app.command("demo")
def demo(engine: EngineChoice | None = EngineOption) -> None:
    """Run the whole job here, offline: start the engine, crawl the local test web of every
    outlet, extract, classify, index, then print a summary and a sample search."""
    from vigia.demo import DEMO_PREFIX, SAMPLE_QUERY, run_demo

    settings = settings_for(engine)
    console.print(f"starting {settings.engine.kind} (the first run downloads it from Maven Central) …")
    with user_errors():
        result = run_demo(settings)
    crawl = result.crawl
    console.print(
        f"{result.engine.kind} at {result.engine.url} (logs: {result.engine.log_file})\n"
        f"crawled the test web in {crawl.elapsed_s:.1f}s: {crawl.total('requests')} requests, "
        f"{crawl.total('new')} new, {crawl.total('updated')} updated, {crawl.total('no_article')} pages without article, "
        f"errors {crawl.errors() or 'none'}\n"
        f"classifier: {result.classifier}\n"
        f"{result.indexed} articles indexed in {DEMO_PREFIX}-articles; by violence type: "
        + (", ".join(f"{k} {v}" for k, v in sorted(result.by_type.items(), key=lambda kv: -kv[1])) or "none")
    )
    console.print(f"\nsample search: [bold]{SAMPLE_QUERY}[/] with --type arrest")
    print_hits(result.sample)
    console.print(f"more: VIGIA_INDEX__PREFIX={DEMO_PREFIX} vigia search 'homicidio' --type homicide --since 2026-11-01")


from classifiers.commands import register as _register_classifier_commands  # noqa: E402

_register_classifier_commands(app)
