"""The query model: one typed query for every consumer (CLI, web page, exports, feeds, alerts).

A :class:`Query` holds what a person asked: words in the engine's simple query syntax (quoted
phrases, ``|`` or ``OR``, ``-exclusion``), filters, a date range and how to show the result. It
is validated when it is made (an unknown value is named with the valid ones), turns into an
engine request in one place (``vigia.search.request``) and round-trips through a URL query
string, so that every search is a shareable link. Dates stay as written: ``7d`` means "the last
seven days" whenever the link is opened; ``2024-03-01`` means that day in El Salvador time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlencode

from classifiers.places import gazetteer
from classifiers.taxonomy import load_taxonomy
from vigia.errors import InputError
from vigia.models import LOCAL_TZ
from vigia.search.labels import label, labels

Sort = Literal["date", "relevance"]
_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# Filter fields, in URL order: (Query attribute, URL parameter, CLI option).
FILTERS = (
    ("violence_type", "type", "--type"),
    ("actor", "actor", "--actor"),
    ("department", "department", "--department"),
    ("municipality", "municipality", "--municipality"),
    ("source", "source", "--source"),
    ("language", "language", "--language"),
)


def day_start(day: date | None) -> datetime | None:
    """The first instant of ``day`` in El Salvador."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ) if day else None


def day_end(day: date | None) -> datetime | None:
    """The last second of ``day`` in El Salvador: an ``until`` day is inclusive everywhere."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ) if day else None


def known_values(name: str) -> list[str]:
    """The values a filter accepts: taxonomy ids, department or municipality names."""
    places = gazetteer()
    if name == "department":
        return list(places.departments)
    if name == "municipality":
        return sorted(places.municipalities)
    return load_taxonomy().ids(name)


@dataclass(frozen=True)
class Query:
    """What to find. Values within a filter are OR, filters are AND; empty means any."""

    text: str = ""
    violence_type: tuple[str, ...] = ()
    actor: tuple[str, ...] = ()
    department: tuple[str, ...] = ()
    municipality: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    in_el_salvador: bool | None = None
    since: str | None = None  # YYYY-MM-DD, an ISO 8601 instant, or relative: 24h, 7d, 12w
    until: str | None = None  # the same forms; a day is inclusive
    stories: bool = True  # copies of one story collapsed into one result
    sort: Sort = "date"
    sources_known: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, _, _ in FILTERS:
            object.__setattr__(self, name, tuple(dict.fromkeys(v.strip() for v in getattr(self, name) if v.strip())))
        object.__setattr__(self, "text", self.text.strip())
        self._validate()

    def _validate(self) -> None:
        for name, _, option in FILTERS[:4]:
            known = known_values(name)
            unknown = [v for v in getattr(self, name) if v not in known]
            if unknown:
                raise InputError(
                    f"{option} {', '.join(map(repr, unknown))} is not known; use one of: {', '.join(known)}"
                )
        if self.sources_known is not None:
            unknown = [v for v in self.source if v not in self.sources_known]
            if unknown:
                raise InputError(
                    f"--source {', '.join(map(repr, unknown))} is not known (not an outlet of the registry); "
                    f"use one of: {', '.join(self.sources_known)}"
                )
        bad = [v for v in self.language if not _LANGUAGE.match(v)]
        if bad:
            raise InputError(f"--language {', '.join(map(repr, bad))}: give ISO 639-1 codes such as es or en")
        if self.sort not in ("date", "relevance"):
            raise InputError(f"sort {self.sort!r} is not known; use date or relevance")
        now = datetime.now(LOCAL_TZ)
        since, until = (parse_bound(v, end=end, now=now) for v, end in ((self.since, False), (self.until, True)))
        if since and until and since > until:
            raise InputError(f"since {self.since} is after until {self.until}: swap them")

    # -- dates -----------------------------------------------------------------------------
    def window(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """The instants this query covers, relative dates resolved against ``now``."""
        now = now or datetime.now(LOCAL_TZ)
        return parse_bound(self.since, end=False, now=now), parse_bound(self.until, end=True, now=now)

    # -- URL round trip ----------------------------------------------------------------------
    def to_params(self) -> list[tuple[str, str]]:
        """URL query parameters; defaults are left out so that links stay short."""
        params: list[tuple[str, str]] = [("q", self.text)] if self.text else []
        for name, param, _ in FILTERS:
            params += [(param, v) for v in getattr(self, name)]
        if self.in_el_salvador is not None:
            params.append(("in_sv", "1" if self.in_el_salvador else "0"))
        params += [(k, v) for k, v in (("since", self.since), ("until", self.until)) if v]
        if not self.stories:
            params.append(("copies", "all"))
        if self.sort != "date":
            params.append(("sort", self.sort))
        return params

    def to_query_string(self) -> str:
        return urlencode(self.to_params())

    @classmethod
    def from_params(
        cls,
        params: Iterable[tuple[str, str]] | Mapping[str, str | Sequence[str]],
        sources_known: Sequence[str] | None = None,
    ) -> Query:
        """The query of a URL's parameters (a query string's pairs, or a mapping to value lists)."""
        pairs = _pairs(params)
        by_param = {param: name for name, param, _ in FILTERS}
        values: dict[str, list[str]] = {}
        single: dict[str, str] = {}
        allowed = {"q", "in_sv", "since", "until", "copies", "sort", *by_param}
        for key, value in pairs:
            if key not in allowed:
                continue  # links carry other parameters (page, format): not the query's
            if key in by_param:
                values.setdefault(by_param[key], []).extend(v for v in value.split(",") if v)
            else:
                single[key] = value
        in_sv = single.get("in_sv")
        if in_sv not in (None, "", "0", "1", "true", "false"):
            raise InputError(f"in_sv {in_sv!r} is not known; use 1 (in El Salvador) or 0 (abroad)")
        copies = single.get("copies", "")
        if copies not in ("", "all", "stories"):
            raise InputError(f"copies {copies!r} is not known; use all or stories")
        return cls(
            text=single.get("q", ""),
            **{name: tuple(v) for name, v in values.items()},
            in_el_salvador=None if in_sv in (None, "") else in_sv in ("1", "true"),
            since=single.get("since") or None,
            until=single.get("until") or None,
            stories=copies != "all",
            sort=single.get("sort") or "date",  # type: ignore[arg-type]
            sources_known=tuple(sources_known) if sources_known is not None else None,
        )

    @classmethod
    def from_query_string(cls, query_string: str, sources_known: Sequence[str] | None = None) -> Query:
        return cls.from_params(parse_qsl(query_string, keep_blank_values=True), sources_known)

    def replace(self, **changes: object) -> Query:
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """The query in words, for titles of charts, feeds and e-mails."""
        parts = [f"«{self.text}»"] if self.text else []
        for name, _, _ in FILTERS:
            if values := getattr(self, name):
                field = label(name, "fields").lower() if name in labels()["fields"] else name
                parts.append(f"{field}: {', '.join(label(v, name) for v in values)}")
        if self.in_el_salvador is not None:
            parts.append("en El Salvador" if self.in_el_salvador else "fuera de El Salvador")
        if self.since or self.until:
            parts.append(f"{self.since or '…'} → {self.until or 'hoy'}")
        return "; ".join(parts) or "todos los artículos"


def parse_bound(value: str | None, *, end: bool, now: datetime) -> datetime | None:
    """A date bound as an instant: relative (``7d``: now minus seven days; as an end bound it
    is counted the same way), a day (its first or last second in El Salvador) or an instant."""
    if not value:
        return None
    value = value.strip()
    if match := _RELATIVE.match(value):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return day_end(day) if end else day_start(day)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"date {value!r} is not understood; use YYYY-MM-DD, an ISO 8601 time, or a span back from now "
            "such as 24h, 7d or 12w"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TZ)


def _pairs(params: Iterable[tuple[str, str]] | Mapping[str, str | Sequence[str]]) -> list[tuple[str, str]]:
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in params.items():
            out += [(key, value)] if isinstance(value, str) else [(key, v) for v in value]
        return out
    return list(params)
