"""`vigia export`: every match of a query to a file (CSV, JSON lines, Parquet, ACLED-style CSV)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vigia.cli.app import EngineChoice, EngineOption, app, console, open_store
from vigia.cli.search import (
    ActorOption,
    DepartmentOption,
    InSvOption,
    LanguageOption,
    MunicipalityOption,
    SinceOption,
    SourceOption,
    TextArgument,
    TypeOption,
    UntilOption,
    query_from_options,
)
from vigia.errors import InputError
from vigia.search import export as exporter
from vigia.search import results


@app.command("export")
def export(
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
    fmt: str = typer.Option(
        "csv", "--format", "-f", help="csv, jsonl, parquet, or acled (ACLED-style CSV; see the README)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="File to write (replaced only once complete)."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Write every matching article (every outlet's copy, no 10,000 cap) to a file, newest first."""
    fmt = exporter.check_format(fmt)
    query = query_from_options(
        text, violence_type, actor, department, municipality, source, language, in_el_salvador, since, until, True
    )
    if output.is_dir():
        raise InputError(f"--output {output} is a directory; name a file such as {output / ('export.' + fmt)}")
    if not output.parent.exists():
        raise InputError(f"--output {output}: folder {output.parent} does not exist; create it first")
    store = open_store(engine)
    total = results.count(store, query)
    # A temporary file beside the output, renamed at the end: a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            if sys.stderr.isatty():
                columns = (TextColumn("exportando"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
                with Progress(*columns, console=console) as bar:
                    task = bar.add_task("export", total=total)
                    rows = exporter.write(results.scan(store, query), fmt, out, progress=lambda n: bar.advance(task, n))
            else:
                rows = exporter.write(results.scan(store, query), fmt, out)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    console.print(f"{rows} articles → {output} ({fmt})", highlight=False, markup=False)
