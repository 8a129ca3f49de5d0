"""`vigia …`: the command line, one module per command group, on top of everything else.

Each command is thin: it parses input, calls the layer that does the work and renders the
result with rich. Expected failures become one line and exit code 2 at one boundary
(``vigia.cli.app``). Nothing imports this package.
"""

from vigia.cli import alerts, classify, crawl, demo, engine, export, extract, index, search, serve, trends
from vigia.cli.app import app

__all__ = [
    "alerts",
    "app",
    "classify",
    "crawl",
    "demo",
    "engine",
    "export",
    "extract",
    "index",
    "search",
    "serve",
    "trends",
]
