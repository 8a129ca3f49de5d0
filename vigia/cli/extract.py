"""`vigia extract`: extraction alone, on files or URLs, as JSON."""

from __future__ import annotations

import json

import typer

from vigia.cli.app import app, error_line, fail, settings_for
from vigia.errors import NoArticle
from vigia.extract import extract, extraction_record
from vigia.extract.inputs import PageError, load_page


@app.command("extract")
def extract_pages(
    inputs: list[str] = typer.Argument(
        ..., metavar="FILE_OR_URL", help="Pages: .html or .html.gz files, or http(s) URLs."
    ),
    url: str = typer.Option("", "--url", help="The address of the page in a single FILE (for dates and links)."),
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON line per input, even for a single input."),
) -> None:
    """Print the extracted article of each page as JSON (one line per input when several).
    A page that fails prints {"input", "error"}; the exit code is 1 if any failed."""
    if url and len(inputs) > 1:
        fail("--url names the address of one page: give a single FILE with it")
    settings = settings_for()
    failed = 0
    for ref in inputs:
        try:
            page = load_page(ref, settings, url)
            record = {"input": ref, **extraction_record(extract(page.html, page.url))}
        except (PageError, NoArticle) as exc:
            failed += 1
            error_line(f"{ref}: {exc}" if isinstance(exc, NoArticle) else str(exc))
            record = {"input": ref, "error": str(exc)}
        print(json.dumps(record, ensure_ascii=False, indent=None if jsonl or len(inputs) > 1 else 2), flush=True)
    if failed:
        raise typer.Exit(1)
