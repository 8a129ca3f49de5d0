"""Watchlists: what to watch, who hears about it and how, as a YAML file validated line by line.

A file holds optional ``defaults`` (merged into every watchlist) and a list of ``watchlists``.
Each has a name, a query in the search query model (``text`` in the engine's simple query
syntax plus filters named as in search links: ``type``, ``actor``, ``department``,
``municipality``, ``source``, ``language``, ``in_sv``), recipients and a mode:

- ``spike``: stories in the last ``window`` against the same window over the previous
  ``baseline_days`` (see :mod:`vigia.alerts.detect` for the model and its settings);
- ``new``: every new matching story, batched per run;
- ``digest``: the stories of the past day or week, at a set local hour.

Problems are reported with the line they are on, so a monitor can fix a file without reading
Python tracebacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from vigia.errors import InputError
from vigia.search.query import Query

_DURATION = re.compile(r"^(\d{1,4})\s*([hd])$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[^@\s<>]+@localhost$")
_QUERY_KEYS = ("text", "type", "actor", "department", "municipality", "source", "language", "in_sv")
EXAMPLE = "watchlists.example.yaml"


def parse_hours(value: str | int) -> int:
    """``6h``, ``24h``, ``2d`` (or a number of hours) as whole hours."""
    if isinstance(value, int) and not isinstance(value, bool):
        hours = value
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise ValueError(f"{value!r} is not a duration: write hours or days such as 6h, 24h or 7d")
        hours = int(match[1]) * (24 if match[2] == "d" else 1)
    if hours < 1:
        raise ValueError("a duration must be at least 1h")
    return hours


# A duration in whole hours, written 6h, 24h, 7d or as a number.
Hours = Annotated[int, BeforeValidator(parse_hours)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpikeRule(_Strict):
    """When a rise is worth an e-mail. Defaults are conservative: a monitor mutes noisy alerts."""

    window: Hours = Field(default=24, description="Hours counted now (6h, 24h …).")
    baseline_days: int = Field(default=28, ge=1, le=365, description="Days before the window forming the baseline.")
    same_weekday: bool = Field(default=False, description="Baseline only from the same weekday and hour.")
    same_hour: bool = Field(default=False, description="Baseline only from the same hour of the day.")
    min_count: int = Field(default=3, ge=1, description="Never alert below this many stories in the window.")
    baseline_floor: float = Field(
        default=1.0, gt=0, description="Lowest expected stories per window: one story on a quiet topic is not 'x10'."
    )
    ratio: float = Field(default=3.0, ge=1.0, description="Stories now must be at least this multiple of expected.")
    p_value: float = Field(
        default=0.001, gt=0, lt=1, description="Tail probability of the count under the negative binomial baseline."
    )
    trim: float = Field(
        default=0.1,
        ge=0,
        lt=0.5,
        description="Share of the highest baseline windows left out, so a past burst does not mask the next.",
    )
    normalize: bool = Field(default=True, description="Scale the baseline by the total volume of the same outlets.")
    min_baseline_windows: int = Field(default=4, ge=1, description="Warm-up: baseline windows with data needed.")
    cooldown: Hours = Field(default=24, description="Hours after an alert during which the watchlist stays quiet.")
    rise: float = Field(
        default=1.5, ge=1.0, description="Within an episode, re-alert only when the count grew by this factor."
    )

    @model_validator(mode="after")
    def _period(self) -> SpikeRule:
        if self.same_weekday and self.same_hour:
            raise ValueError("same_weekday already implies the same hour: set only one of them")
        if self.period > 24 * self.baseline_days:
            raise ValueError(f"baseline_days {self.baseline_days} holds no baseline window; raise it")
        if (self.same_hour or self.same_weekday) and self.window > 24:
            raise ValueError("same_hour / same_weekday need a window of at most 24h")
        return self

    @property
    def period(self) -> int:
        """Hours between consecutive baseline windows."""
        return 24 * 7 if self.same_weekday else 24 if self.same_hour else self.window

    @property
    def baseline_windows(self) -> int:
        return (24 * self.baseline_days) // self.period


class DigestRule(_Strict):
    every: Literal["day", "week"] = "day"
    hour: int = Field(default=7, ge=0, le=23, description="Local hour (El Salvador) the digest goes out.")
    weekday: int = Field(default=0, ge=0, le=6, description="For weekly digests: 0 = Monday.")
    max_stories: int = Field(default=30, ge=1, le=200)


class NewRule(_Strict):
    lookback: Hours = Field(default=48, description="Hours back a story may be published and still count as new.")
    max_stories: int = Field(default=50, ge=1, le=200)


class Watchlist(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    description: str = ""
    query: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["spike", "new", "digest"] = "spike"
    recipients: list[str] = Field(min_length=1)
    spike: SpikeRule = SpikeRule()
    digest: DigestRule = DigestRule()
    new: NewRule = NewRule()
    top_stories: int = Field(default=5, ge=1, le=50)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(map(repr, bad))}")
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = [k for k in value if k not in _QUERY_KEYS]
        if unknown:
            raise ValueError(f"unknown query key {', '.join(map(repr, unknown))}; use: {', '.join(_QUERY_KEYS)}")
        to_query(value)  # an InputError names the bad value and the valid ones
        return value

    @cached_property
    def search(self) -> Query:
        """The watchlist's query in the search model (no dates: detection sets the windows)."""
        return to_query(self.query)

    def describe(self) -> str:
        return self.description or self.search.describe()


def to_query(spec: dict[str, Any]) -> Query:
    """A query mapping of a watchlist (URL parameter names) as a validated :class:`Query`."""
    params: list[tuple[str, str]] = []
    for key, value in spec.items():
        name = "q" if key == "text" else key
        if key == "in_sv":
            params.append((name, "1" if value else "0"))
        elif isinstance(value, list | tuple):
            params += [(name, str(v)) for v in value]
        elif value is not None:
            params.append((name, str(value)))
    try:
        return Query.from_params(params)
    except InputError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 when the file has no line for it
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class WatchlistFile:
    """A parsed and validated watchlist file (or its problems)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.watchlists: list[Watchlist] = []
        self.problems: list[Problem] = []
        try:
            data = YAML(typ="rt").load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            self.problems.append(Problem((mark.line + 1) if mark else 0, f"not valid YAML: {exc.problem}"))
            return
        if not isinstance(data, dict) or not isinstance(data.get("watchlists"), list):
            self.problems.append(Problem(1, "the file needs a 'watchlists:' list (and optionally 'defaults:')"))
            return
        unknown = [k for k in data if k not in ("defaults", "watchlists")]
        for key in unknown:
            self.problems.append(Problem(_line(data, [key]), f"unknown key {key!r}; use defaults or watchlists"))
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            self.problems.append(Problem(_line(data, ["defaults"]), "defaults must be a mapping"))
            defaults = {}
        seen: dict[str, int] = {}
        for i, entry in enumerate(data["watchlists"]):
            where = _line(data, ["watchlists", i])
            if not isinstance(entry, dict):
                self.problems.append(Problem(where, "each watchlist is a mapping with name, query, recipients …"))
                continue
            merged = _merge(_plain(defaults), _plain(entry))
            try:
                watchlist = Watchlist.model_validate(merged)
            except ValidationError as exc:
                for error in exc.errors():
                    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
                    line = _line(data, ["watchlists", i, *loc])
                    if line == where and loc and loc[0] not in entry:  # the value came from the defaults
                        line = _line(data, ["defaults", *loc]) or where
                    name = entry.get("name", f"#{i + 1}")
                    field = ".".join(str(p) for p in loc) or "watchlist"
                    message = error["msg"].removeprefix("Value error, ")
                    if loc == ["query"] and isinstance(entry.get("query"), dict):
                        # Point at the filter the search model rejected (its message names it as an option).
                        for key in entry["query"]:
                            if message.startswith((f"--{key} ", f"{key} ")):
                                line = _line(data, ["watchlists", i, "query", key])
                                message = message.removeprefix("--")
                    self.problems.append(Problem(line, f"watchlist {name}: {field}: {message}"))
                continue
            if watchlist.name in seen:
                self.problems.append(
                    Problem(where, f"watchlist name {watchlist.name!r} repeats the one on line {seen[watchlist.name]}")
                )
                continue
            seen[watchlist.name] = where
            self.watchlists.append(watchlist)
        self.problems.sort(key=lambda p: p.line)

    @classmethod
    def read(cls, path: Path) -> WatchlistFile:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"watchlist file {path} cannot be read ({exc.strerror}): create it (see `vigia alerts example`) "
                "or set alerts.watchlists / VIGIA_ALERTS__WATCHLISTS"
            ) from None
        return cls(path, text)

    def valid(self) -> list[Watchlist]:
        """The watchlists; an InputError listing every problem when there is any."""
        if self.problems:
            listed = "; ".join(str(p) for p in self.problems)
            raise InputError(f"{self.path}: {listed}. Check it with `vigia alerts check {self.path}`")
        return self.watchlists


def load_watchlists(path: Path, name: str | None = None) -> list[Watchlist]:
    """The valid watchlists of ``path`` (only ``name`` when given; an unknown name is an error)."""
    watchlists = WatchlistFile.read(path).valid()
    if name is None:
        return watchlists
    chosen = [w for w in watchlists if w.name == name]
    if not chosen:
        raise InputError(f"no watchlist {name!r} in {path}; use one of: {', '.join(w.name for w in watchlists)}")
    return chosen


def example_text() -> str:
    """The example watchlists shipped with the package."""
    return resources.files("vigia.alerts").joinpath(EXAMPLE).read_text(encoding="utf-8")


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic wants those)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _merge(defaults: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in entry.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def _line(node: Any, path: list[Any]) -> int:
    """The 1-based line of the deepest part of ``path`` that the YAML file has."""
    line = 0
    for part in path:
        try:
            if isinstance(node, dict) and part in node:
                line = node.lc.key(part)[0] + 1
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
            else:
                break
            node = node[part]
        except (AttributeError, KeyError, TypeError):
            break
    return line
