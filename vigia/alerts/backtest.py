"""Backtest: when each spike watchlist would have fired on the indexed history.

One histogram request per watchlist covers the whole period (plus the baseline before it); each
window is then judged with the same :func:`~vigia.alerts.detect.evaluate` as a live run, and the
cooldown and re-alert rules are replayed in memory. With known bursts (planted in generated
history, or marked by hand) it scores precision (alerts that fall on a burst) and recall (bursts
that got an alert), so thresholds can be tuned on real history.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from vigia.alerts import detect
from vigia.alerts.watchlist import Watchlist
from vigia.errors import InputError
from vigia.models import LOCAL_TZ
from vigia.search.plot import pyplot
from vigia.search.query import day_end, day_start
from vigia.store import Store


@dataclass
class Fire:
    watchlist: str
    window_start: datetime
    window_end: datetime
    count: int
    expected: float
    ratio: float
    p_value: float


@dataclass
class Result:
    fires: list[Fire] = field(default_factory=list)
    windows: dict[str, int] = field(default_factory=dict)
    series: dict[str, tuple[list[datetime], list[int], list[float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Burst:
    """A known burst: the watchlist it belongs to and when it happened."""

    watchlist: str
    start: datetime
    end: datetime


@dataclass
class Score:
    per_watchlist: dict[str, tuple[int, int, int, int]]  # fires, true fires, bursts, bursts found

    @property
    def precision(self) -> float:
        fires = sum(v[0] for v in self.per_watchlist.values())
        return sum(v[1] for v in self.per_watchlist.values()) / fires if fires else 1.0

    @property
    def recall(self) -> float:
        bursts = sum(v[2] for v in self.per_watchlist.values())
        return sum(v[3] for v in self.per_watchlist.values()) / bursts if bursts else 1.0

    def lines(self) -> list[str]:
        out = []
        for name, (fires, true, bursts, found) in sorted(self.per_watchlist.items()):
            p = f"{true / fires:.2f}" if fires else "-"
            r = f"{found / bursts:.2f}" if bursts else "-"
            out.append(
                f"{name}: precision {p} ({true}/{fires} alerts on a burst), recall {r} ({found}/{bursts} bursts)"
            )
        out.append(f"overall: precision {self.precision:.2f}, recall {self.recall:.2f}")
        return out


def parse_day(value: str | None, end: bool = False) -> datetime:
    if value is None:
        return datetime.now(LOCAL_TZ)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"date {value!r} is not understood; use YYYY-MM-DD") from None
    return day_end(day) + timedelta(seconds=1) if end else day_start(day)  # type: ignore[operator,return-value]


def backtest(store: Store, watchlists: list[Watchlist], since: datetime, until: datetime) -> Result:
    """Judge every window of each watchlist in [since, until) (windows end at ``until`` and every
    window length before it), replaying the cooldown and re-alert rules of a live run."""
    if since >= until:
        raise InputError("--since must be before --until")
    result = Result()
    for watchlist in watchlists:
        rule = watchlist.spike
        step = timedelta(hours=rule.window)
        windows = int((until - since) / step)
        if windows < 1:
            raise InputError(
                f"{since:%Y-%m-%d} → {until:%Y-%m-%d} is shorter than the {rule.window} h window of {watchlist.name}"
            )
        last_end = until
        first_end = until - (windows - 1) * step
        counts = detect.fetch_counts(store, watchlist, detect.history_start(rule, first_end), last_end)
        last: Fire | None = None
        judged = 0
        expected_series: list[float] = []
        for index, end in enumerate(counts.ends):
            if end < first_end:
                continue
            judged += 1
            decision = detect.evaluate(rule, counts, index)
            expected_series.append(decision.expected)
            if not decision.fire:
                continue
            if last is not None and detect.held_back(rule, end, decision.count, last.window_end, last.count):
                continue
            last = Fire(watchlist.name, decision.window_start, end, decision.count, decision.expected,
                        decision.ratio, decision.p_value)  # fmt: skip
            result.fires.append(last)
        result.windows[watchlist.name] = judged
        shown = [i for i, e in enumerate(counts.ends) if e >= first_end]
        result.series[watchlist.name] = (
            [counts.ends[i] for i in shown], [counts.match[i] for i in shown], expected_series,
        )  # fmt: skip
    return result


def read_truth(path: Path) -> list[Burst]:
    """Known bursts from a CSV with columns watchlist,start,end (ISO dates or instants)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(f"truth file {path} cannot be read ({exc.strerror})") from None
    bursts = []
    for number, row in enumerate(rows, start=2):
        try:
            start, end = (datetime.fromisoformat(row[k].strip()) for k in ("start", "end"))
            bursts.append(Burst(row["watchlist"].strip(), _aware(start), _aware(end)))
        except (KeyError, ValueError, AttributeError):
            raise InputError(
                f"{path} line {number}: expected columns watchlist,start,end with ISO dates, got {row}"
            ) from None
    return bursts


def score(result: Result, truth: list[Burst]) -> Score:
    """An alert is true when its window overlaps a burst of its watchlist; a burst is found when
    an alert's window overlaps it."""
    per: dict[str, tuple[int, int, int, int]] = {}
    names = {f.watchlist for f in result.fires} | {b.watchlist for b in truth} | set(result.windows)
    for name in names:
        fires = [f for f in result.fires if f.watchlist == name]
        bursts = [b for b in truth if b.watchlist == name]
        true = sum(any(_overlap(f, b) for b in bursts) for f in fires)
        found = sum(any(_overlap(f, b) for f in fires) for b in bursts)
        per[name] = (len(fires), true, len(bursts), found)
    return Score(per)


def plot(result: Result, out: Path) -> None:
    """Stories per window, the expected count and the alerts, one panel per watchlist."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise InputError(f"cannot tell the chart format of {out}: name a .png or .svg file")
    names = list(result.series)
    plt = pyplot()
    figure, axes = plt.subplots(len(names), 1, figsize=(10, 2.6 * max(1, len(names))), squeeze=False,
                                layout="constrained")  # fmt: skip
    try:
        for ax, name in zip(axes[:, 0], names, strict=True):
            ends, counts, expected = result.series[name]
            ax.plot(ends, counts, drawstyle="steps-pre", label="historias por ventana", linewidth=1)
            ax.plot(ends, expected, linestyle="--", label="esperado", linewidth=1)
            fires = [f for f in result.fires if f.watchlist == name]
            ax.scatter([f.window_end for f in fires], [f.count for f in fires], color="red", zorder=3, label="alerta")
            ax.set_title(f"{name}: {len(fires)} alertas", fontsize=9, loc="left")
            ax.set_ylabel("historias")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper left")
        axes[-1, 0].set_xlabel("fin de la ventana (hora de El Salvador)")
        figure.savefig(out, dpi=100)
    finally:
        plt.close(figure)


def _overlap(fire: Fire, burst: Burst) -> bool:
    return fire.window_start < burst.end and burst.start < fire.window_end


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
