"""`vigia search`: the query model on the command line, as a table, facet counts or JSON lines."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.registry import load_registry
from vigia.cli.app import EngineChoice, EngineOption, app, open_store
from vigia.models import LOCAL_TZ
from vigia.search import results
from vigia.search.query import Query

SINCE_HELP = "From this day (YYYY-MM-DD, El Salvador time) or this long ago (24h, 7d, 12w)."
UNTIL_HELP = "Up to this day, inclusive (YYYY-MM-DD), or until this long ago (24h, 7d)."


def query_from_options(
    text: str | None,
    violence_type: list[str],
    actor: list[str],
    department: list[str],
    municipality: list[str],
    source: list[str],
    language: list[str],
    in_el_salvador: bool | None,
    since: str | None,
    until: str | None,
    all_copies: bool = False,
    sort: str = "date",
) -> Query:
    """A validated query from command-line options (outlets checked against the registry)."""
    return Query(
        text=text or "",
        violence_type=tuple(violence_type),
        actor=tuple(actor),
        department=tuple(department),
        municipality=tuple(municipality),
        source=tuple(source),
        language=tuple(language),
        in_el_salvador=in_el_salvador,
        since=since,
        until=until,
        stories=not all_copies,
        sort=sort,  # type: ignore[arg-type]
        sources_known=tuple(load_registry().ids),
    )


# The options every command that takes a query shares (search, and trends / export next).
TextArgument = typer.Argument(None, help='Words in title and text: "exact phrase", a | b (or), -word (not).')
TypeOption = typer.Option([], "--type", "-t", help="Violence type id (repeatable), e.g. homicide.")
ActorOption = typer.Option([], "--actor", "-a", help="Actor id (repeatable), e.g. ms13.")
DepartmentOption = typer.Option([], "--department", "-d", help="Department (repeatable), e.g. 'San Salvador'.")
MunicipalityOption = typer.Option(
    [], "--municipality", "-m", help="Municipality (repeatable), e.g. 'San Salvador Este'."
)
SourceOption = typer.Option([], "--source", "-s", help="Outlet id (repeatable), e.g. elfaro.")
LanguageOption = typer.Option([], "--language", help="Language code (repeatable), e.g. es.")
InSvOption = typer.Option(None, "--in-sv/--abroad", help="Only events in El Salvador, or only abroad.")
SinceOption = typer.Option(None, "--since", help=SINCE_HELP)
UntilOption = typer.Option(None, "--until", help=UNTIL_HELP)


@app.command("search")
def search(
    text: str | None = TextArgument,
    violence_type: list[str] = TypeOption,
    actor: list[str] = ActorOption,
    department: list[str] = DepartmentOption,
    municipality: list[str] = MunicipalityOption,
    source: list[str] = SourceOption,
    language: list[str] = LanguageOption,
    in_el_salvador: bool | None = InSvOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
    all_copies: bool = typer.Option(False, "--all-copies", help="Every outlet's copy of a story, not one per story."),
    sort: str = typer.Option("date", "--sort", help="date (newest first) or relevance."),
    limit: int = typer.Option(10, min=1, max=1000, help="How many results to show."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue from a previous page (its 'next' value)."),
    show_facets: bool = typer.Option(False, "--facets", help="Also count matches per type, actor, department, outlet."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Find indexed articles by what, who and where; newest first, one row per story."""
    query = query_from_options(
        text, violence_type, actor, department, municipality, source, language, in_el_salvador, since, until,
        all_copies, sort,
    )  # fmt: skip
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
