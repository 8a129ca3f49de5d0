"""Publication dates: parsing, plausibility and the priority between the places a date is found.

Outlets often publish times without a zone; those are read in the page's zone: its country's
by its domain (`paginasiete.bo` → La Paz), else El Salvador time (UTC-6, no daylight saving),
so every datetime that leaves this module is timezone-aware.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

from vigia.models import LOCAL_TZ

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Clock skew and "scheduled" timestamps a few hours ahead are normal; days ahead are errors.
FUTURE_TOLERANCE = timedelta(days=1)

# /2024/03/05/, -2024-03-05-, _2024_3_5 … in a URL path (a full day; a month alone is too vague).
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)([/_.-])(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])(?!\d)")


# Country-code domains of Spanish-speaking countries and the zone most of the country keeps.
# Domains also sold for generic use (.co) are left out: they say nothing of a country.
_COUNTRY_ZONES = {
    "sv": "America/El_Salvador", "gt": "America/Guatemala", "hn": "America/Tegucigalpa",
    "ni": "America/Managua", "cr": "America/Costa_Rica", "pa": "America/Panama",
    "mx": "America/Mexico_City", "cu": "America/Havana", "do": "America/Santo_Domingo",
    "pr": "America/Puerto_Rico", "ve": "America/Caracas", "ec": "America/Guayaquil",
    "pe": "America/Lima", "bo": "America/La_Paz", "py": "America/Asuncion", "cl": "America/Santiago",
    "ar": "America/Argentina/Buenos_Aires", "uy": "America/Montevideo", "es": "Europe/Madrid",
}  # fmt: skip


def page_zone(url: str) -> tzinfo:
    """The zone a page's times without an offset are written in: its country's when its
    domain names one (a Bolivian outlet prints La Paz time), else El Salvador's."""
    country = (urlsplit(url or "").hostname or "").rsplit(".", 1)[-1]
    return ZoneInfo(_COUNTRY_ZONES[country]) if country in _COUNTRY_ZONES else LOCAL_TZ


def as_aware(value: datetime, zone: tzinfo = LOCAL_TZ) -> datetime:
    """A naive datetime is local time in `zone`."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def parse_datetime(value: object, zone: tzinfo = LOCAL_TZ) -> datetime | None:
    """ISO 8601, RFC 2822 and most human forms → aware datetime (`zone` when the value
    names none); None when unreadable."""
    if isinstance(value, datetime):
        return as_aware(value, zone)
    if not isinstance(value, str) or not (text := value.strip()) or len(text) > 64:
        return None
    try:
        return as_aware(datetime.fromisoformat(text), zone)
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():  # an unknown zone name ("CST") reads as local time
            warnings.simplefilter("ignore", dateutil_parser.UnknownTimezoneWarning)
            return as_aware(dateutil_parser.parse(text, dayfirst=not text[:4].isdigit()), zone)
    except (ValueError, OverflowError):
        return None


def plausible(value: datetime | None, now: datetime | None = None) -> bool:
    """Rejects dates before 1990 and dates in the future beyond a small tolerance."""
    if value is None:
        return False
    now = now or datetime.now(UTC)
    return EARLIEST <= value <= now + FUTURE_TOLERANCE


def date_from_url(url: str, zone: tzinfo = LOCAL_TZ) -> datetime | None:
    """A full calendar date in the URL path (midnight in `zone`), if any."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[3]), int(match[4]), tzinfo=zone)
    except ValueError:
        return None


_MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip
_MONTH_NAMES = {
    **_MONTHS,
    **{name[:3]: number for name, number in _MONTHS.items()},
    "sept": 9, "set": 9,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "apr": 4, "aug": 8, "oct": 10, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTH_NAMES, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>0?[1-9]|[12]\d|3[01])"
_TIME = (
    r"(?:[^\d\n]{1,14}?(?P<hour>[01]?\d|2[0-3])\s*[:hH]\s*(?P<minute>[0-5]\d)"
    r"(?:\s*(?P<ampm>[ap])\.?\s*m\b\.?)?)?"
)
# The forms news pages print beside a byline: "Jueves, 21 de abril de 2022", "26, Abril, 2022",
# "mayo 11, 2022", "6 May 2022 - 2:00 a. m.", "21/04/2022", "26.04.2022 22h03" …
_SHOWN_DATES = [
    re.compile(
        rf"\b{_DAY}(?:\s*,)?\s+(?:de\s+)?{_MONTH}(?:\s*,)?\s+(?:de[l]?\s+)?{_YEAR}\b{_TIME}",
        re.IGNORECASE,
    ),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b{_TIME}", re.IGNORECASE),
    re.compile(rf"(?<![\d/.-]){_DAY}([/.-])(?P<mon>0?[1-9]|1[0-2])\2{_YEAR}(?![\d/.-]){_TIME}"),
]
# A date announced as an update ("Actualizado el 19 abril 2022") stands in only when the page
# shows no other date.
_UPDATE_CUE = re.compile(
    r"(actualiza|modifica|updated|editado)\w*(?:\s+(?:el|a|al|on|at))?\W{0,6}$",
    re.IGNORECASE,
)


def spanish_date(text: str, zone: tzinfo = LOCAL_TZ) -> datetime | None:
    """A written date ("Publicado el 14 de febrero de 2024 a las 3:30 p. m."), in `zone`."""
    return next((value for value, _ in shown_dates(text, zone)), None)


def shown_dates(text: str, zone: tzinfo = LOCAL_TZ) -> list[tuple[datetime, bool]]:
    """Every date written in the text, in the forms news pages print beside a byline, in
    reading order, in `zone`; each with whether the text announces it as an update."""
    found = []
    for pattern in _SHOWN_DATES:
        for match in pattern.finditer(text):
            if (value := _shown_value(match, zone)) is not None:
                cue = text[max(0, match.start() - 40) : match.start()]
                found.append((match.start(), value, bool(_UPDATE_CUE.search(cue))))
    return [(value, update) for _, value, update in sorted(found, key=lambda f: f[0])]


def byline_date(after: str, before: str = "", zone: tzinfo = LOCAL_TZ) -> tuple[datetime, bool] | None:
    """The publication date a page writes beside its headline or byline, with whether it is
    announced as an update: the first date after the headline that is not (an update date
    only when it is the only one), else the last date just before the headline (some pages
    print it above)."""
    dates = shown_dates(after, zone)
    published = [date for date in dates if not date[1]]
    if published or dates:
        return (published or dates)[0]
    earlier = shown_dates(before, zone)
    return earlier[-1] if earlier else None


def shown_clock(structured: datetime, shown: datetime | None, zone: tzinfo = LOCAL_TZ) -> datetime:
    """A structured date labelled UTC whose clock time the page itself prints as its local
    time was written in local time and mislabelled (a CMS without a time zone): read it as
    time in `zone`. Any other structured date stays as it is."""
    if shown is None or structured.utcoffset() != timedelta(0) or (shown.hour, shown.minute) == (0, 0):
        return structured
    same_clock = structured.replace(tzinfo=None, second=0, microsecond=0) == shown.replace(tzinfo=None)
    return structured.replace(tzinfo=zone) if same_clock else structured


def presented_modified(
    published: datetime, modified: datetime | None, stamps: Iterable[tuple[str, datetime | None]]
) -> tuple[datetime, str] | None:
    """The modification time, with the source that presents it, when the page presents it as
    its publication time: a publication stamp besides datePublished (the date printed beside
    the byline, another declared publication time) equals dateModified to the minute, a later
    minute than datePublished's. Readers see that date (a story republished under a new day).
    None when no stamp does."""
    minute = _minute(modified) if modified else None
    if minute is None or minute <= _minute(published):
        return None
    return next(((stamp, source) for source, stamp in stamps if stamp and _minute(stamp) == minute), None)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _shown_value(match: re.Match[str], zone: tzinfo) -> datetime | None:
    groups = match.groupdict()
    month = int(groups["mon"]) if groups.get("mon") else _MONTH_NAMES[groups["month"].lower()]
    hour, minute = (int(groups["hour"]), int(groups["minute"])) if groups["hour"] else (0, 0)
    if groups["ampm"] and groups["ampm"].lower() == "p" and hour < 12:
        hour += 12
    elif groups["ampm"] and groups["ampm"].lower() == "a" and hour == 12:
        hour = 0
    try:
        return datetime(
            int(groups["year"]),
            month,
            int(groups["day"]),
            hour,
            minute,
            tzinfo=zone,
        )
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
