"""The root of `vigia …`: the app, the options every group shares, and the one boundary where
expected failures (:class:`~vigia.errors.VigiaError`) become one line on stderr and exit code 2.

Each command group lives in its own module of this package and registers itself on ``app``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vigia.config import Settings, get_settings
from vigia.errors import VigiaError
from vigia.store import Store

F = TypeVar("F", bound=Callable[..., Any])

# Messages go to stderr; data (JSON, tables a script may read) goes to stdout.
console = Console(stderr=True, soft_wrap=True)


def error_line(message: str) -> None:
    """One error line on stderr; the message is never read as markup (it carries user input),
    and a multi-line cause (a YAML parser's excerpt) is folded into the line."""
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    console.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line and exit."""
    error_line(message)
    raise typer.Exit(code)


def _user_errors(func: F) -> F:
    """The boundary: a VigiaError from anywhere below a command becomes one line, exit 2."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VigiaError as exc:
            fail(str(exc))

    return run  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer app whose every command runs behind :func:`_user_errors`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(_user_errors(func))
            return func

        return decorator


def group(help: str) -> App:
    return App(help=help, no_args_is_help=True, pretty_exceptions_enable=False)


app = App(
    help="Vigía: monitor news about violence in El Salvador (crawl, extract, classify, index, search).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


class EngineChoice(str, Enum):
    elasticsearch = "elasticsearch"
    opensearch = "opensearch"


EngineOption = typer.Option(
    None, "--engine", "-e", help="Engine to use (default: VIGIA_ENGINE__KIND or elasticsearch)."
)


def settings_for(engine: EngineChoice | None = None) -> Settings:
    """The settings, with the engine kind overridden by --engine when given."""
    settings = get_settings()
    if engine is not None:
        settings = settings.model_copy(update={"engine": settings.engine.model_copy(update={"kind": engine.value})})
    return settings


def open_store(engine: EngineChoice | None = None, replay: bool = True) -> Store:
    """A store on the configured engine; the spool is replayed on connect."""
    return Store.from_settings(settings_for(engine), replay=replay)


def day_option(help: str) -> Any:
    """A YYYY-MM-DD option; typer rejects other forms with a message naming the format."""
    return typer.Option(None, formats=["%Y-%m-%d"], help=help)


def as_day(value: datetime | None) -> Any:
    return value.date() if value else None
