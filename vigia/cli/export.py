"""`vigia export`: every match of a query to a file (CSV, JSON lines, Parquet, ACLED-style CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vigia.cli.app import EngineChoice, EngineOption, app, console, open_store
from vigia.cli.query_options import query_options
from vigia.outputs import atomic_output, check_output
from vigia.search import export as exporter
from vigia.search import results
from vigia.search.query import Query


@app.command("export")
@query_options(stories=False)
def export(
    query: Query,
    fmt: str = typer.Option(
        "csv", "--format", "-f", help="csv, jsonl, parquet, or acled (ACLED-style CSV; see the README)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="File to write (replaced only once complete)."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Write every matching article (every outlet's copy, no 10,000 cap) to a file, newest first."""
    fmt = exporter.check_format(fmt)
    output = check_output(output)
    store = open_store(engine)
    total = results.count(store, query)
    with atomic_output(output, "wb") as out:  # a reader never sees half a file
        if sys.stderr.isatty():
            columns = (TextColumn("exportando"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("export", total=total)
                rows = exporter.write(results.scan(store, query), fmt, out, progress=lambda n: bar.advance(task, n))
        else:
            rows = exporter.write(results.scan(store, query), fmt, out)
    console.print(f"{rows} articles → {output} ({fmt})", highlight=False, markup=False)
