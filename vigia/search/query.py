"""The rules of a query, in one place: which filter values exist, and which instants a day
given on the command line stands for (El Salvador time, ``until`` inclusive)."""

from __future__ import annotations

from datetime import date, datetime, time

from classifiers.places import gazetteer
from classifiers.taxonomy import load_taxonomy
from vigia.errors import InputError
from vigia.models import LOCAL_TZ
from vigia.store import SearchFilters


def day_start(day: date | None) -> datetime | None:
    """The first instant of ``day`` in El Salvador."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ) if day else None


def day_end(day: date | None) -> datetime | None:
    """The last second of ``day`` in El Salvador: an ``until`` day is inclusive everywhere."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TZ) if day else None


def known_values(field: str) -> list[str]:
    """The values a filter field accepts: taxonomy ids, or department names."""
    return list(gazetteer().departments) if field == "department" else load_taxonomy().ids(field)


def check_known(option: str, values: list[str], field: str) -> None:
    """Filter values must exist: a typo would silently match nothing."""
    known = known_values(field)
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InputError(f"{option} {', '.join(map(repr, unknown))} is not known; use one of: {', '.join(known)}")


def build_filters(
    violence_type: list[str],
    actor: list[str],
    department: list[str],
    source: list[str],
    since: date | None,
    until: date | None,
) -> SearchFilters:
    """Validated filters for the days ``since``..``until`` (inclusive, El Salvador time)."""
    check_known("--type", violence_type, "violence_type")
    check_known("--actor", actor, "actor")
    check_known("--department", department, "department")
    if since and until and since > until:
        raise InputError(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}: swap them")
    return SearchFilters(
        violence_type=violence_type,
        actor=actor,
        department=department,
        source=source,
        since=day_start(since),
        until=day_end(until),
    )
