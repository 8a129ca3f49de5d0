"""Spike detection: is the number of stories in the current window unusual for this watchlist?

The model, chosen so that the known failure modes of alerting tools cannot happen:

- counts are **stories** (copies of one story in several outlets collapse), from one engine
  request per watchlist: a date histogram of consecutive windows ending now (the watchlist's
  query as a filter inside the histogram of all stories of the same outlets);
- the **baseline** is the same window over the previous ``baseline_days`` (every window, or only
  the same hour of the day, or the same weekday and hour);
- with ``normalize``, each baseline window is scaled by the ratio of today's total volume of the
  same outlets to that window's volume, so a day when every outlet publishes twice as much
  expects twice as many matches;
- the expected count has a **floor** (``baseline_floor``), so 1 versus 0 is not "infinitely more";
- the count must reach ``min_count`` (so 0 versus 0 and single hits never fire), be ``ratio``
  times the expected count, and be improbable under a **negative binomial** whose mean and
  variance are those of the (scaled) baseline windows: over-dispersed but steady topics (killings
  come in clusters) do not fire on their ordinary bad days;
- the baseline is **trimmed**: its highest ``trim`` share of windows is left out, so that one
  past burst (a massacre two weeks ago) does not inflate the variance and mask the next;
- **warm-up**: no alert until ``min_baseline_windows`` baseline windows saw the outlets publish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigia.alerts.watchlist import SpikeRule, Watchlist
from vigia.search import request
from vigia.search.query import Query
from vigia.store import Store


@dataclass
class Counts:
    """Stories per window (oldest first), for the watchlist and for all stories of its outlets."""

    ends: list[datetime]
    match: list[int]
    volume: list[int]


@dataclass
class Decision:
    """The verdict on one window, with the numbers an e-mail shows."""

    window_start: datetime
    window_end: datetime
    count: int
    expected: float  # stories expected in the window (scaled baseline mean, floored)
    baseline_mean: float  # unscaled mean of the baseline windows
    variance: float
    ratio: float
    p_value: float
    volume: int
    baseline_windows: int
    fire: bool
    reason: str
    baseline_counts: list[int] = field(default_factory=list)

    def numbers(self) -> dict[str, float | int]:
        return {"count": self.count, "baseline": round(self.expected, 3), "ratio": round(self.ratio, 3),
                "p_value": self.p_value}  # fmt: skip


def floor_hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def volume_query(query: Query) -> Query:
    """All stories of the same outlets: the query's outlet filter only."""
    return Query(source=query.source)


# Windows per request: a long backtest asks in spans, so that per-window story counts
# (cardinality aggregations) stay far below the engine's request memory limit.
WINDOWS_PER_REQUEST = 400


def fetch_counts(store: Store, watchlist: Watchlist, start: datetime, end: datetime) -> Counts:
    """Story counts per window of the watchlist's window length over [start, end) (end-aligned)."""
    rule = watchlist.spike
    step = timedelta(hours=rule.window)
    counts = Counts([], [], [])
    span_end = end
    spans = []
    while span_end > start:  # newest span first; every span ends on a window boundary
        span_start = max(start, span_end - step * WINDOWS_PER_REQUEST)
        spans.append((span_start, span_end))
        span_end = span_start
    for span_start, span_end in reversed(spans):
        body = request.windows_body(watchlist.search, volume_query(watchlist.search), span_start, span_end, rule.window)
        for bucket in store.search_raw("articles", body)["aggregations"]["windows"]["buckets"]:
            bucket_end = datetime.fromtimestamp(bucket["key"] / 1000, tz=end.tzinfo) + step
            if bucket_end <= span_start or bucket_end > span_end:
                continue
            counts.ends.append(bucket_end)
            counts.match.append(int(bucket["match"]["stories"]["value"]))
            counts.volume.append(int(bucket["volume"]["value"]))
    return counts


def held_back(rule: SpikeRule, end: datetime, count: int, last_end: datetime, last_count: float) -> str | None:
    """Why a firing window ending at ``end`` stays quiet after the last alert (which ended at
    ``last_end`` with ``last_count``): in its cooldown, or still high without rising by ``rise``
    within the same episode. None when it may alert. Live runs and backtests share this rule."""
    since_last = end - last_end
    if since_last < timedelta(hours=rule.cooldown):
        return f"cooldown: alerted {since_last} ago"
    episode = since_last < timedelta(hours=rule.cooldown + rule.window)
    if episode and count < last_count * rule.rise:
        return f"still high but not rising: {count} vs {last_count:g} at the last alert (needs ×{rule.rise})"
    return None


def history_start(rule: SpikeRule, end: datetime) -> datetime:
    """Where the windows needed to judge the window ending at ``end`` begin (on a window boundary)."""
    windows = math.ceil(24 * rule.baseline_days / rule.window) + 1
    return end - timedelta(hours=rule.window * windows)


def evaluate(rule: SpikeRule, counts: Counts, index: int) -> Decision:
    """Judge window ``index`` of ``counts`` against its baseline windows (earlier ones, every
    ``rule.period`` hours back, within ``baseline_days``)."""
    step = rule.period // rule.window
    positions = [index - step * k for k in range(1, rule.baseline_windows + 1) if index - step * k >= 0]
    current, volume = counts.match[index], counts.volume[index]
    end = counts.ends[index]
    start = end - timedelta(hours=rule.window)
    usable = [i for i in positions if counts.volume[i] > 0]
    base = [counts.match[i] for i in usable]
    if rule.normalize and volume > 0:
        scaled = [counts.match[i] * volume / counts.volume[i] for i in usable]
    else:
        scaled = [float(b) for b in base]
    # Robust baseline: the highest windows (past bursts) are left out of mean and variance.
    scaled = sorted(scaled)[: len(scaled) - int(len(scaled) * rule.trim)]
    mean = sum(scaled) / len(scaled) if scaled else 0.0
    variance = sum((s - mean) ** 2 for s in scaled) / (len(scaled) - 1) if len(scaled) > 1 else mean
    expected = max(mean, rule.baseline_floor)
    ratio = current / expected
    p_value = tail(current, expected, variance)
    decision = Decision(
        start, end, current, expected, sum(base) / len(base) if base else 0.0, variance, ratio, p_value, volume,
        len(usable), False, "", base,
    )  # fmt: skip
    if len(usable) < rule.min_baseline_windows:
        decision.reason = f"warm-up: {len(usable)} of {rule.min_baseline_windows} baseline windows with data"
    elif current < rule.min_count:
        decision.reason = f"{current} stories, below the minimum of {rule.min_count}"
    elif ratio < rule.ratio:
        decision.reason = f"{ratio:.2f}× expected, below {rule.ratio}×"
    elif p_value > rule.p_value:
        decision.reason = f"p = {p_value:.2g}, above {rule.p_value:g}"
    else:
        decision.fire = True
        decision.reason = f"{current} stories vs {expected:.1f} expected ({ratio:.1f}×, p = {p_value:.2g})"
    return decision


def tail(count: int, mean: float, variance: float) -> float:
    """P(X ≥ count) for a count with this mean and variance: negative binomial when the variance
    exceeds the mean (over-dispersion), Poisson otherwise."""
    from scipy.stats import nbinom, poisson  # half a second to import: only when an alert is judged

    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    # Never narrower than Poisson: a perfectly steady baseline still has counting noise.
    variance = max(variance, mean)
    if variance <= mean * (1 + 1e-9):
        return float(poisson.sf(count - 1, mean))
    r = mean * mean / (variance - mean)
    p = mean / variance
    value = float(nbinom.sf(count - 1, r, p))
    return value if math.isfinite(value) else 0.0


def judge(store: Store, watchlist: Watchlist, end: datetime) -> Decision:
    """The verdict on the window ending at ``end`` (one engine request)."""
    counts = fetch_counts(store, watchlist, history_start(watchlist.spike, end), end)
    return evaluate(watchlist.spike, counts, len(counts.ends) - 1)
