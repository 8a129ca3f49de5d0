"""`vigia …`: the command line, one module per command group, on top of everything else.

Each command is thin: it parses input, calls the layer that does the work and renders the
result with rich. Expected failures become one line and exit code 2 at one boundary
(``vigia.cli.app``). Nothing imports this package.
"""

from vigia.cli import classify, crawl, demo, engine, extract, index, search, trends
from vigia.cli.app import app

__all__ = ["app", "classify", "crawl", "demo", "engine", "extract", "index", "search", "trends"]
