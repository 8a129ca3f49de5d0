"""Publication dates: parsing, plausibility and the priority between the places a date is found.

Salvadoran outlets often publish times without a zone; those are read as El Salvador time
(UTC-6, no daylight saving), so every datetime that leaves this module is timezone-aware.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from dateutil import parser as dateutil_parser

from vigia.models import LOCAL_TZ

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Clock skew and "scheduled" timestamps a few hours ahead are normal; days ahead are errors.
FUTURE_TOLERANCE = timedelta(days=1)

# /2024/03/05/, -2024-03-05-, _2024_3_5 … in a URL path (a full day; a month alone is too vague).
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)([/_.-])(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])(?!\d)")


def as_aware(value: datetime) -> datetime:
    """A naive datetime is local El Salvador time."""
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)


def parse_datetime(value: object) -> datetime | None:
    """ISO 8601, RFC 2822 and most human forms → aware datetime; None when unreadable."""
    if isinstance(value, datetime):
        return as_aware(value)
    if not isinstance(value, str) or not (text := value.strip()) or len(text) > 64:
        return None
    try:
        return as_aware(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():  # an unknown zone name ("CST") reads as local time
            warnings.simplefilter("ignore", dateutil_parser.UnknownTimezoneWarning)
            return as_aware(dateutil_parser.parse(text, dayfirst=not text[:4].isdigit()))
    except (ValueError, OverflowError):
        return None


def plausible(value: datetime | None, now: datetime | None = None) -> bool:
    """Rejects dates before 1990 and dates in the future beyond a small tolerance."""
    if value is None:
        return False
    now = now or datetime.now(UTC)
    return EARLIEST <= value <= now + FUTURE_TOLERANCE


def date_from_url(url: str) -> datetime | None:
    """A full calendar date in the URL path (midnight local time), if any."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[3]), int(match[4]), tzinfo=LOCAL_TZ)
    except ValueError:
        return None


_MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip
# "14 de febrero de 2024", optionally followed by a time: "a las 10:30 a. m.", "- 16:05".
_SPANISH_DATE = re.compile(
    r"\b(\d{1,2})\s+de\s+(" + "|".join(_MONTHS) + r")\s+(?:de|del)\s+((?:19|20)\d\d)"
    r"(?:[^\d]{1,12}?(\d{1,2}):(\d\d)(?:\s*([ap])\.?\s*m\b)?)?",
    re.IGNORECASE,
)


def spanish_date(text: str) -> datetime | None:
    """A written Spanish date ("Publicado el 14 de febrero de 2024 a las 3:30 p. m."), local time."""
    match = _SPANISH_DATE.search(text)
    if not match:
        return None
    day, month, year = int(match[1]), _MONTHS[match[2].lower()], int(match[3])
    hour, minute = (int(match[4]), int(match[5])) if match[4] else (0, 0)
    if match[6] and match[6].lower() == "p" and hour < 12:
        hour += 12
    elif match[6] and match[6].lower() == "a" and hour == 12:
        hour = 0
    try:
        return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)
    except ValueError:
        return None


def is_year_only_guess(value: datetime) -> bool:
    """htmldate answers a year it found alone as 1 January, midnight: a weak guess."""
    return (value.month, value.day, value.hour, value.minute, value.second) == (
        1,
        1,
        0,
        0,
        0,
    )


def first_plausible(
    candidates: Iterable[tuple[str, Callable[[], datetime | None]]],
    now: datetime | None = None,
) -> tuple[datetime | None, str | None]:
    """The first plausible date in priority order, with the name of its source.

    Candidates are lazy so that costly sources (htmldate's extensive search) only run when
    the cheap ones found nothing. A year-only htmldate guess yields to any later, more
    precise source that agrees on the year.
    """
    weak: tuple[datetime, str] | None = None
    for source, compute in candidates:
        value = compute()
        if value is None or not plausible(value, now):
            continue
        if weak is not None:
            return (value, source) if value.year == weak[0].year else weak
        if source == "htmldate" and is_year_only_guess(value):
            weak = (value, source)
            continue
        return value, source
    return weak if weak else (None, None)
