"""Charts of a trend, one function for every consumer (`vigia trends --plot`, the web page's
trends, the chart in an alert e-mail): labelled axes, a legend, a title that states the query,
dates in El Salvador time."""

from __future__ import annotations

import io
import re
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Literal

from vigia.errors import InputError
from vigia.search.labels import label as label_of
from vigia.search.trends import Trend

Format = Literal["png", "svg"]
_INTERVAL_WORDS = {"day": "día", "week": "semana", "month": "mes"}
_MONTHS = dict(
    zip(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
        strict=True,
    )
)
_MONTH = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend, imported when a chart is drawn (every CLI
    command imports this module; matplotlib costs a quarter second to load)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files and bytes only
    import matplotlib.pyplot as plt

    return plt


@lru_cache(maxsize=1)
def _spanish_dates() -> type:
    """Matplotlib's concise date ticks with Spanish month names (whatever the process locale)."""
    import matplotlib.dates as mdates

    class SpanishDates(mdates.ConciseDateFormatter):
        def format_ticks(self, values: list[float]) -> list[str]:
            return [_spanish(tick) for tick in super().format_ticks(values)]

        def get_offset(self) -> str:
            return _spanish(super().get_offset())

    return SpanishDates


def _spanish(text: str) -> str:
    return _MONTH.sub(lambda m: _MONTHS[m[1]], text)


def plot_trend(
    trend: Trend,
    out: Path | BinaryIO,
    fmt: Format | None = None,
    size: tuple[float, float] = (9, 4.5),
    title: str | None = None,
) -> None:
    """Draw ``trend`` as lines (one per series) into a PNG or SVG file or stream."""
    if fmt is None:
        if not isinstance(out, Path) or out.suffix.lower() not in (".png", ".svg"):
            raise InputError(f"cannot tell the chart format of {out}: name a .png or .svg file")
        fmt = out.suffix.lower()[1:]  # type: ignore[assignment]
    plt = pyplot()
    figure, axes = plt.subplots(figsize=size, layout="constrained")
    try:
        for name, values in trend.series.items():
            label = "total" if name == "total" else label_of(name, trend.split_by or "")
            axes.plot(trend.buckets, [v * 100 for v in values] if trend.normalized else values, marker=".", label=label)
        what = "artículos" if trend.unit == "articles" else "historias"
        per = _INTERVAL_WORDS[trend.interval]
        axes.set_ylabel(
            f"% de los artículos de los mismos medios por {per}" if trend.normalized else f"{what} por {per}"
        )
        axes.set_xlabel("fecha (hora de El Salvador)")
        axes.xaxis.set_major_formatter(
            _spanish_dates()(axes.xaxis.get_major_locator(), tz=trend.buckets[0].tzinfo if trend.buckets else None)
        )
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        split = f", por {label_of(trend.split_by, 'fields').lower()}" if trend.split_by else ""
        share = " (% de los mismos medios)" if trend.normalized else ""
        title = title or f"{what.capitalize()} por {per}{split}{share}: {trend.query.describe()}"
        axes.set_title(textwrap.fill(title, width=int(size[0] * 13)), fontsize=10, loc="left")
        if trend.series:
            axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)  # beside the lines
        # SVG text stays text (searchable, selectable, read by screen readers), not glyph paths.
        with plt.rc_context({"svg.fonttype": "none"}):
            figure.savefig(out, format=fmt, dpi=110)
    finally:
        plt.close(figure)


def trend_png(trend: Trend, size: tuple[float, float] = (7, 3), title: str | None = None) -> bytes:
    """The chart as PNG bytes (e-mails embed it inline)."""
    buffer = io.BytesIO()
    plot_trend(trend, buffer, "png", size, title)
    return buffer.getvalue()


def trend_svg(trend: Trend, size: tuple[float, float] = (9, 4.5), title: str | None = None) -> str:
    """The chart as SVG text (the web page inlines it; no JavaScript needed)."""
    buffer = io.BytesIO()
    plot_trend(trend, buffer, "svg", size, title)
    return buffer.getvalue().decode("utf-8")
