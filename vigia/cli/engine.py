"""`vigia engine start|stop|status`: the local Elasticsearch or OpenSearch."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from vigia.cli.app import EngineChoice, EngineOption, app, console, group, settings_for
from vigia.engine import local_engine

engine_app = group("Run a local Elasticsearch or OpenSearch (no Docker needed).")
app.add_typer(engine_app, name="engine")


@engine_app.command("start")
def engine_start(engine: EngineChoice | None = EngineOption) -> None:
    """Start the local engine (downloads it from Maven Central once); a no-op when it runs."""
    status = local_engine(settings_for(engine)).start()
    console.print(
        f"{status.kind} is {status.health} at {status.url} (pid {status.pid}); logs: {status.log_file}", markup=False
    )


@engine_app.command("stop")
def engine_stop(engine: EngineChoice | None = EngineOption) -> None:
    """Stop the engine that `vigia engine start` started (only that process)."""
    settings = settings_for(engine)
    stopped = local_engine(settings).stop()
    console.print(
        f"{settings.engine.kind} {'stopped' if stopped else 'was not running (nothing to stop)'}", markup=False
    )


@engine_app.command("status")
def engine_status(
    engine: EngineChoice | None = EngineOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show whether the local engine runs, its URL, health and log file; exit 1 when it is down."""
    status = local_engine(settings_for(engine)).status()
    if as_json:
        typer.echo(json.dumps(asdict(status)))
    elif status.running:
        console.print(
            f"{status.kind}: running at {status.url}, health {status.health}, pid {status.pid}, logs {status.log_file}",
            markup=False,
        )
    else:
        console.print(
            f"{status.kind}: not running (start it with `vigia engine start --engine {status.kind}`)", markup=False
        )
    raise typer.Exit(0 if status.running else 1)
