"""Outlet-silence alerts: a quiet outlet must not be read as a quiet country.

Each outlet's rhythm is learned from its own history, by local hour of day (an outlet that never
publishes at 3 a.m. is not silent at 3 a.m.): its mean articles per hour of day over the last
``history_days``. Since its last article, the outlet would usually have published ``expected``
articles; when that reaches the threshold (the chance of none by luck is e^-expected) and the
silence is longer than ``min_hours``, operators hear about it, once per silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vigia.config import SilenceSettings
from vigia.models import LOCAL_TZ
from vigia.search import request
from vigia.store import Store
from vigia.store.queries import agg_instant


@dataclass
class Silence:
    source: str
    last_article: datetime
    silent_hours: float
    expected: float  # articles the outlet would usually have published since its last one
    usual_gap_hours: float  # its mean interval between articles over the history

    def detail(self) -> str:
        return (
            f"El medio {self.source} no publica desde {self.last_article.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} "
            f"(hace {self.silent_hours:.1f} h). Según su propio historial a estas horas habría publicado "
            f"unos {self.expected:.0f} artículos; su intervalo habitual es de {self.usual_gap_hours:.1f} h. "
            "Revise el rastreo antes de leer el silencio como calma."
        )


def silent_outlets(store: Store, rule: SilenceSettings, now: datetime) -> list[Silence]:
    """Outlets silent for much longer than their own history predicts at these hours."""
    start = now - timedelta(days=rule.history_days)
    outlets = store.search_raw("articles", request.outlet_rhythm_body(start, now))["aggregations"]["outlets"]
    found = []
    for bucket in outlets["buckets"]:
        if bucket["doc_count"] < rule.min_articles or bucket["last"].get("value") is None:
            continue
        last, first = agg_instant(bucket["last"], LOCAL_TZ), agg_instant(bucket["first"], LOCAL_TZ)
        days = max(1.0, (last - max(first, start)).total_seconds() / 86400)
        per_hour = [0.0] * 24
        for hour in bucket["hours"]["buckets"]:
            per_hour[datetime.fromisoformat(hour["key_as_string"]).hour] += hour["doc_count"] / days
        silent = (now - last).total_seconds() / 3600
        if silent < rule.min_hours:
            continue
        expected = _expected(per_hour, last, now)
        if expected >= rule.expected:
            gap = 24 * days / bucket["doc_count"]
            found.append(Silence(bucket["key"], last, silent, expected, gap))
    return found


def _expected(per_hour: list[float], since: datetime, until: datetime) -> float:
    """Articles expected between two instants, hour of day by hour of day (partial hours prorated)."""
    total = 0.0
    cursor = since.astimezone(LOCAL_TZ)
    until = until.astimezone(LOCAL_TZ)
    while cursor < until:
        hour_end = cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        piece = min(hour_end, until) - cursor
        total += per_hour[cursor.hour] * piece.total_seconds() / 3600
        cursor = hour_end
    return total
