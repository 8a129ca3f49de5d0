"""`vigia search`: the query model on the command line, as a table, facet counts or JSON lines."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigia.cli.app import EngineChoice, EngineOption, app, open_store
from vigia.cli.query_options import query_options
from vigia.models import LOCAL_TZ
from vigia.search import results
from vigia.search.query import Query


@app.command("search")
@query_options(stories=True)
def search(
    query: Query,
    all_copies: bool = typer.Option(False, "--all-copies", help="Every outlet's copy of a story, not one per story."),
    sort: str = typer.Option("date", "--sort", help="date (newest first) or relevance."),
    limit: int = typer.Option(10, min=1, max=1000, help="How many results to show."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue from a previous page (its 'next' value)."),
    show_facets: bool = typer.Option(False, "--facets", help="Also count matches per type, actor, department, outlet."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Find indexed articles by what, who and where; newest first, one row per story."""
    query = query.replace(stories=not all_copies, sort=sort)
    store = open_store(engine)
    page = results.search(store, query, size=limit, cursor=cursor)
    facet_counts = results.facets(store, query) if show_facets else None
    if as_json:
        for hit in page.hits:
            outlets = {"outlets": hit.outlets, "copies": hit.copies_total} if query.stories else {}
            typer.echo(json.dumps({**hit.article.to_doc(), **outlets, "highlight": hit.highlight}, ensure_ascii=False))
        if facet_counts:
            typer.echo(
                json.dumps({"facets": facet_counts["counts"], "total": facet_counts["total"]}, ensure_ascii=False)
            )
        if page.cursor:
            typer.echo(json.dumps({"next": page.cursor}))
        return
    print_hits(page)
    if facet_counts:
        print_facets(facet_counts)


def print_hits(page: results.Page) -> None:
    """A table of hits. Crawled text is hostile input: it only ever enters rich as plain Text."""
    what = f"{page.stories} stories in {page.total} articles" if page.stories is not None else f"{page.total} articles"
    table = Table(title=f"{what} — {page.query.describe()}", show_lines=True)
    for column in ("published", "source", "title / match", "tags"):
        table.add_column(column)
    for hit in page.hits:
        a = hit.article
        cell = Text(a.title)
        fragments = hit.fragments("text")[:1]
        for pieces in fragments:
            cell.append("\n")
            for piece, matched in pieces:
                cell.append(piece, style="bold" if matched else "dim")
        outlets = Text(a.source)
        if len(hit.outlets) > 1:
            outlets.append(f"\n{len(hit.outlets)} medios", style="cyan")
        table.add_row(
            a.published_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if a.published_at else "?",
            outlets,
            cell,
            Text(", ".join(a.violence_type + a.actor + a.department)),
        )
    console = Console()
    console.print(table)
    if page.cursor:
        console.print(Text(f"next page: --cursor '{page.cursor}'", style="dim"))


def print_facets(facets: dict) -> None:
    table = Table(title=f"facets ({facets['total']} articles)")
    for column in ("field", "value", "articles"):
        table.add_column(column, justify="right" if column == "articles" else "left")
    for name, counts in facets["counts"].items():
        for value, n in counts:
            table.add_row(name, Text(str(value)), str(n))
    Console().print(table)
