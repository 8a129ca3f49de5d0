"""`vigia search`: indexed articles by what, who and where, as a table or JSON lines."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.registry import load_registry
from vigia.cli.app import (
    EngineChoice,
    EngineOption,
    app,
    as_day,
    day_option,
    open_store,
)
from vigia.errors import InputError
from vigia.models import LOCAL_TZ
from vigia.search.query import build_filters
from vigia.store import SearchPage
from vigia.store.queries import highlight_fragments


@app.command("search")
def search(
    query: str = typer.Argument(None, help="Words to find in title and text (Elasticsearch simple query syntax)."),
    violence_type: list[str] = typer.Option([], "--type", "-t", help="Violence type id (repeatable), e.g. homicide."),
    actor: list[str] = typer.Option([], "--actor", "-a", help="Actor id (repeatable), e.g. ms13."),
    department: list[str] = typer.Option(
        [], "--department", "-d", help="Department (repeatable), e.g. 'San Salvador'."
    ),
    source: list[str] = typer.Option([], "--source", "-s", help="Outlet id (repeatable), e.g. elfaro."),
    since: datetime | None = day_option("Published on or after this day (YYYY-MM-DD, El Salvador time)."),
    until: datetime | None = day_option("Published on or before this day, inclusive."),
    limit: int = typer.Option(10, min=1, max=1000, help="How many articles to show."),
    stories: bool = typer.Option(False, "--stories", help="One article per story (collapse wire copies)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Find indexed articles by what, who and where; newest first."""
    check_sources(source)
    filters = build_filters(violence_type, actor, department, source, as_day(since), as_day(until))
    page = open_store(engine).search(query, filters, size=limit, collapse_stories=stories)
    if as_json:
        for hit in page.hits:
            typer.echo(json.dumps({**hit.article.to_doc(), "highlight": hit.highlight}, ensure_ascii=False))
        return
    print_hits(page)


def check_sources(source: list[str]) -> None:
    """--source must name registry outlets, as in `vigia crawl`: a typo would match nothing."""
    known = load_registry().ids
    unknown = [s for s in source if s not in known]
    if unknown:
        raise InputError(f"--source {', '.join(map(repr, unknown))} is not known; use one of: {', '.join(known)}")


def print_hits(page: SearchPage) -> None:
    """A table of hits. Crawled text is hostile input: it only ever enters rich as plain Text."""
    table = Table(title=f"{page.total} articles", show_lines=True)
    for column in ("published", "source", "title / match", "tags"):
        table.add_column(column)
    for hit in page.hits:
        a = hit.article
        cell = Text(a.title)
        snippets = hit.highlight.get("text", [])[:1]
        if snippets:
            cell.append("\n")
            for piece, matched in highlight_fragments(snippets[0]):
                cell.append(piece, style="bold" if matched else "dim")
        table.add_row(
            a.published_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if a.published_at else "?",
            Text(a.source),
            cell,
            Text(", ".join(a.violence_type + a.actor + a.department)),
        )
    Console().print(table)
