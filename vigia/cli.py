"""`vigia …`: the command line. Each command is thin: it parses and validates input, then calls
the module that does the work, and turns expected failures into one clear message (exit 2)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Vigía: monitor news about violence in El Salvador (crawl, extract, classify, index, search).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
