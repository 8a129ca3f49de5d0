"""`vigia index init|status`: index templates, write aliases and what they hold."""

from __future__ import annotations

from vigia.cli.app import EngineChoice, EngineOption, app, console, group, open_store

index_app = group("Create and inspect the indices.")
app.add_typer(index_app, name="index")


@index_app.command("init")
def index_init(engine: EngineChoice | None = EngineOption) -> None:
    """Create or update the index templates, first indices and write aliases (idempotent)."""
    store = open_store(engine)
    names = store.init_indices()
    console.print(
        f"ready: {', '.join(names)} on {store.client.kind} at {store.client.url} (analysis: {store.analysis_mode})",
        markup=False,
    )


@index_app.command("status")
def index_status(engine: EngineChoice | None = EngineOption) -> None:
    """Per index alias: the indices behind it and how many documents they hold."""
    store = open_store(engine)
    for name in store.templates():
        indices = store.alias_indices(name)
        if indices is None:
            console.print(f"{store.alias(name)}: missing (create it with `vigia index init`)", markup=False)
            continue
        console.print(f"{store.alias(name)} → {', '.join(indices)}: {store.count(name)} documents", markup=False)
