"""`vigia …`: the command line. Each command is thin: it parses and validates input, then calls
the module that does the work, and turns expected failures into one clear message (exit 2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import Enum

import typer
from pydantic import ValidationError
from rich.console import Console

from vigia.config import Settings, get_settings

app = typer.Typer(
    help="Vigía: monitor news about violence in El Salvador (crawl, extract, classify, index, search).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
engine_app = typer.Typer(help="Run a local Elasticsearch or OpenSearch (no Docker needed).", no_args_is_help=True)
index_app = typer.Typer(help="Create and inspect the indices.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")
app.add_typer(index_app, name="index")

console = Console(stderr=True, soft_wrap=True)


class EngineChoice(str, Enum):
    elasticsearch = "elasticsearch"
    opensearch = "opensearch"


EngineOption = typer.Option(None, "--engine", "-e", help="Engine to use (default: VIGIA_ENGINE__KIND or elasticsearch).")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def settings_for(engine: EngineChoice | None) -> Settings:
    """Settings, with the engine kind overridden by --engine when given."""
    settings = load_settings()
    if engine is not None:
        settings = settings.model_copy(update={"engine": settings.engine.model_copy(update={"kind": engine.value})})
    return settings


def load_settings() -> Settings:
    try:
        return get_settings()
    except (ValidationError, ValueError) as exc:
        fail(f"invalid configuration: {exc}")


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Expected failures (engine down, bad credentials, bad input) become one line, not a trace."""
    from vigia.engine import EngineError
    from vigia.store import StoreError

    try:
        yield
    except (EngineError, StoreError) as exc:
        fail(str(exc))


@engine_app.command("start")
def engine_start(engine: EngineChoice | None = EngineOption) -> None:
    """Start the local engine (downloads it from Maven Central once); a no-op when it runs."""
    from vigia.engine import local_engine

    settings = settings_for(engine)
    with user_errors():
        status = local_engine(settings).start()
    console.print(f"{status.kind} is {status.health} at {status.url} (pid {status.pid}); logs: {status.log_file}")


@engine_app.command("stop")
def engine_stop(engine: EngineChoice | None = EngineOption) -> None:
    """Stop the engine that `vigia engine start` started (only that process)."""
    from vigia.engine import local_engine

    settings = settings_for(engine)
    stopped = local_engine(settings).stop()
    console.print(f"{settings.engine.kind} {'stopped' if stopped else 'was not running (nothing to stop)'}")


@engine_app.command("status")
def engine_status(
    engine: EngineChoice | None = EngineOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show whether the local engine runs, its URL, health and log file; exit 1 when it is down."""
    from vigia.engine import local_engine

    status = local_engine(settings_for(engine)).status()
    if as_json:
        typer.echo(json.dumps(asdict(status)))
    elif status.running:
        console.print(f"{status.kind}: running at {status.url}, health {status.health}, pid {status.pid}, logs {status.log_file}")
    else:
        console.print(f"{status.kind}: not running (start it with `vigia engine start --engine {status.kind}`)")
    raise typer.Exit(0 if status.running else 1)


def open_store(engine: EngineChoice | None = None, replay: bool = True):
    """A store on the configured engine; the spool is replayed on connect."""
    from vigia.store import Store

    with user_errors():
        return Store.from_settings(settings_for(engine), replay=replay)


@index_app.command("init")
def index_init(engine: EngineChoice | None = EngineOption) -> None:
    """Create or update the index templates, first indices and write aliases (idempotent)."""
    store = open_store(engine)
    with user_errors():
        names = store.init_indices()
    console.print(f"ready: {', '.join(names)} on {store.client.kind} at {store.client.url} (analysis: {store.analysis_mode})")
