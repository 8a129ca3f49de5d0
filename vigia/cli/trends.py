"""`vigia trends`: coverage over time for any search, as a table, CSV, JSON or a chart."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigia.cli.app import EngineChoice, EngineOption, app, console, open_store
from vigia.cli.query_options import query_options
from vigia.errors import InputError
from vigia.search import request
from vigia.search.plot import plot_trend
from vigia.search.query import Query
from vigia.search.trends import Trend, trends

# The names people give to a split, and the index field each one counts.
SPLITS = {"type": "violence_type", "actor": "actor", "outlet": "source", "department": "department"}


@app.command("trends")
@query_options(stories=True)
def trends_command(
    query: Query,
    interval: str = typer.Option("week", "--interval", "-i", help="Bucket size: day, week or month."),
    split: str | None = typer.Option(None, "--split", help="One series per type, actor, outlet or department."),
    stories: bool = typer.Option(False, "--stories", help="Count distinct stories, not every outlet's copy."),
    normalize: bool = typer.Option(
        False, "--normalize", help="Share of all articles of the same outlets in each bucket (per outlet when split)."
    ),
    top: int = typer.Option(8, "--top", min=1, max=60, help="How many split values to show (the largest)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (one row per bucket) instead of a table."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead of a table."),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the chart into FILE.png or FILE.svg."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Articles or stories per day, week or month for a search, zero-filled over its dates."""
    if interval not in request.INTERVALS:
        raise InputError(f"--interval {interval!r} is not known; use one of: {', '.join(request.INTERVALS)}")
    if split is not None and split not in SPLITS:
        raise InputError(f"--split {split!r} is not known; use one of: {', '.join(SPLITS)}")
    if as_csv and as_json:
        raise InputError("--csv and --json are two outputs: choose one")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"--plot {str(plot)!r}: name a .png or .svg file")
    trend = trends(
        open_store(engine),
        query,
        interval=interval,  # type: ignore[arg-type]
        split_by=SPLITS[split] if split else None,
        unit="stories" if stories else "articles",
        normalize=normalize,
        top=top,
    )
    if plot is not None:
        plot_trend(trend, plot)
        console.print(f"chart written to {plot}", highlight=False, markup=False)
    if as_csv:
        write_csv(trend)
    elif as_json:
        typer.echo(json.dumps(trend_document(trend), ensure_ascii=False))
    else:
        print_trend(trend)


def write_csv(trend: Trend) -> None:
    """One row per bucket (its first day in El Salvador time), one column per series."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["bucket", *trend.series])
    for row in trend.rows():
        writer.writerow(row.values())


def trend_document(trend: Trend) -> dict:
    """The trend as JSON: what was counted, for which search (also as a link's query string), and the rows."""
    document = {
        "query": trend.query.describe(),
        "params": trend.query.to_query_string(),
        "interval": trend.interval,
        "unit": trend.unit,
        "split": trend.split_by,
        "normalized": trend.normalized,
        "series": list(trend.series),
        "rows": trend.rows(),
    }
    if trend.normalized:
        document["baseline"] = trend.baselines or {"all": trend.baseline}
    return document


def print_trend(trend: Trend) -> None:
    what = "stories" if trend.unit == "stories" else "articles"
    share = ", share of the same outlets' articles" if trend.normalized else ""
    split = f" by {trend.split_by}" if trend.split_by else ""
    table = Table(title=Text(f"{what} per {trend.interval}{split}{share} — {trend.query.describe()}"))
    table.add_column(f"{trend.interval} from")
    for name in trend.series:
        table.add_column(Text(name), justify="right")
    for row in trend.rows():
        values = list(row.values())
        cells = [f"{v:.1%}" if trend.normalized else str(v) for v in values[1:]]
        table.add_row(values[0], *cells)
    Console().print(table)
    if not trend.buckets:
        console.print("no matching articles", highlight=False)
