"""The query options every search-like command shares (`search`, `trends`, `export`), declared
once: :func:`query_options` adds them to a command, which receives one validated ``query``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

from crawler.registry import load_registry
from vigia.search.query import Query

SINCE_HELP = "From this day (YYYY-MM-DD, El Salvador time) or this long ago (24h, 7d, 12w)."
UNTIL_HELP = "Up to this day, inclusive (YYYY-MM-DD), or until this long ago (24h, 7d)."

# (parameter, annotation, typer default), in the order --help lists them.
_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "text",
        str | None,
        typer.Argument(None, help='Words in title and text: "exact phrase", a | b (or), -word (not).'),
    ),
    (
        "violence_type",
        list[str],
        typer.Option([], "--type", "-t", help="Violence type id (repeatable), e.g. homicide."),
    ),
    ("actor", list[str], typer.Option([], "--actor", "-a", help="Actor id (repeatable), e.g. ms13.")),
    (
        "department",
        list[str],
        typer.Option([], "--department", "-d", help="Department (repeatable), e.g. 'San Salvador'."),
    ),
    (
        "municipality",
        list[str],
        typer.Option([], "--municipality", "-m", help="Municipality (repeatable), e.g. 'San Salvador Este'."),
    ),
    ("source", list[str], typer.Option([], "--source", "-s", help="Outlet id (repeatable), e.g. elfaro.")),
    ("language", list[str], typer.Option([], "--language", help="Language code (repeatable), e.g. es.")),
    (
        "in_el_salvador",
        bool | None,
        typer.Option(None, "--in-sv/--abroad", help="Only events in El Salvador, or abroad."),
    ),
    ("since", str | None, typer.Option(None, "--since", help=SINCE_HELP)),
    ("until", str | None, typer.Option(None, "--until", help=UNTIL_HELP)),
]
_NAMES = [name for name, _, _ in _OPTIONS]


def query_options(*, stories: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the shared query options to a command that takes ``query: Query``. ``stories`` is how
    the query counts copies of one story (a command may offer its own option to change it)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)
        own = [p for p in signature.parameters.values() if p.name != "query"]

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in _NAMES}
            kwargs["query"] = make_query(**values, stories=stories)
            return func(**kwargs)

        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, annotation, default in _OPTIONS
        ]
        command.__signature__ = signature.replace(
            parameters=[*shared, *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own)]
        )  # type: ignore[attr-defined]
        return command

    return decorate


def make_query(
    text: str | None,
    violence_type: list[str],
    actor: list[str],
    department: list[str],
    municipality: list[str],
    source: list[str],
    language: list[str],
    in_el_salvador: bool | None,
    since: str | None,
    until: str | None,
    stories: bool = True,
) -> Query:
    """A validated query from command-line values (outlets checked against the registry)."""
    return Query(
        text=text or "",
        violence_type=tuple(violence_type),
        actor=tuple(actor),
        department=tuple(department),
        municipality=tuple(municipality),
        source=tuple(source),
        language=tuple(language),
        in_el_salvador=in_el_salvador,
        since=since,
        until=until,
        stories=stories,
        sort="date",
        sources_known=tuple(load_registry().ids),
    )
