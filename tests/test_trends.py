"""`vigia trends` end to end on live engines: zero-fill, splits, stories, normalisation and charts,
checked against counts worked out by hand from a small fixture (output parsed back)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from vigia.cli import app
from vigia.cli.trends import SPLITS
from vigia.models import LOCAL_TZ, Article
from vigia.search import request
from vigia.store import Store

MARCH = ["--since", "2026-03-01", "--until", "2026-03-31"]
# Weeks (Monday first, El Salvador time) that overlap March 2026.
WEEKS = ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]


def article(n: int, source: str, day: int, types: list[str], month: int = 3, story: str | None = None) -> Article:
    return Article(
        url=f"https://{source}.example/nota/{n}",
        source=source,
        title=f"Nota {n} de {source}",
        text=f"Texto de la nota {n}.",
        published_at=datetime(2026, month, day, 12, 0, tzinfo=LOCAL_TZ),
        violence_type=types,
        story_cluster=story,
    ).finalize()


def fixture_articles() -> list[Article]:
    """elfaro: 3 disappearances and 1 homicide (story S1) in the week of 2 March, 2 homicides in the
    week of 16 March, an arrest at 23:30 local on Sunday 1 March (Monday 05:30 UTC: still the week
    of 23 February here), a homicide in April (outside the range). laprensagrafica: 4 homicides in the
    week of 2 March (one a copy of S1) and 4 articles without a label in the week of 16 March."""
    elfaro = [
        *(article(i, "elfaro", 3 + i, ["disappearance"]) for i in range(3)),
        article(3, "elfaro", 6, ["homicide"], story="S1"),
        article(4, "elfaro", 17, ["homicide"]),
        article(5, "elfaro", 18, ["homicide"]),
        article(7, "elfaro", 2, ["homicide"], month=4),
    ]
    late = article(6, "elfaro", 1, ["arrest"])
    late.published_at = datetime(2026, 3, 1, 23, 30, tzinfo=LOCAL_TZ)
    prensa = [
        *(article(10 + i, "laprensagrafica", 3 + i, ["homicide"]) for i in range(3)),
        article(13, "laprensagrafica", 6, ["homicide"], story="S1"),
        *(article(20 + i, "laprensagrafica", 16 + i, []) for i in range(4)),
    ]
    return [*elfaro, late, *prensa]


@pytest.fixture
def cli(cli_store: Store) -> Iterator[callable]:
    """Runs `vigia trends …` against the test store's engine and prefix."""
    cli_store.upsert(fixture_articles())
    cli_store.refresh()

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["trends", *args], env={"COLUMNS": "200"})

    yield run


def parse_csv(result: Result) -> dict[str, list[str]]:
    """The CSV as columns: bucket dates and each series' values as written."""
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return {name: [row[name] for row in rows] for name in rows[0]}


def numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values]


def test_zero_filled_weeks_in_local_time(cli) -> None:
    columns = parse_csv(cli(*MARCH, "--csv"))
    assert columns["bucket"] == WEEKS
    assert numbers(columns["total"]) == [1, 8, 0, 6, 0, 0]
    days = parse_csv(cli("--since", "2026-03-01", "--until", "2026-03-07", "--interval", "day", "--csv"))
    assert days["bucket"] == [f"2026-03-0{d}" for d in range(1, 8)]
    assert numbers(days["total"]) == [1, 0, 2, 2, 2, 2, 0]


def test_split_top_and_stories(cli) -> None:
    by_type = parse_csv(cli(*MARCH, "--split", "type", "--csv"))
    assert list(by_type) == ["bucket", "homicide", "disappearance", "arrest"]  # largest first
    assert numbers(by_type["homicide"]) == [0, 5, 0, 2, 0, 0]
    assert list(parse_csv(cli(*MARCH, "--split", "type", "--top", "1", "--csv"))) == ["bucket", "homicide"]
    # S1 was carried by both outlets: 5 homicide articles but 4 stories that week
    stories = parse_csv(cli(*MARCH, "--type", "homicide", "--stories", "--csv"))
    assert numbers(stories["total"]) == [0, 4, 0, 2, 0, 0]


def test_normalised_share_of_the_same_outlets(cli) -> None:
    # elfaro published 1, 4, 0, 2, 0, 0 articles: 3 of its 4 in the week of 2 March were disappearances
    one = parse_csv(cli(*MARCH, "--source", "elfaro", "--type", "disappearance", "--normalize", "--csv"))
    assert numbers(one["total"]) == pytest.approx([0, 0.75, 0, 0, 0, 0])
    # split by outlet, each outlet is divided by its own volume (elfaro 1, 4, 0, 2; prensa 0, 4, 0, 4)
    per_outlet = parse_csv(cli(*MARCH, "--type", "homicide", "--split", "outlet", "--normalize", "--csv"))
    assert numbers(per_outlet["elfaro"]) == pytest.approx([0, 0.25, 0, 1.0, 0, 0])
    assert numbers(per_outlet["laprensagrafica"]) == pytest.approx([0, 1.0, 0, 0, 0, 0])
    # without an outlet filter the denominator is every outlet: 5 homicides of 8 articles
    everyone = json.loads(cli(*MARCH, "--type", "homicide", "--normalize", "--json").stdout)
    assert everyone["baseline"] == {"all": [1, 8, 0, 6, 0, 0]}
    assert [row["total"] for row in everyone["rows"]] == pytest.approx([0, 5 / 8, 0, 2 / 6, 0, 0])
    assert everyone["params"] == "type=homicide&since=2026-03-01&until=2026-03-31"


def test_table_lists_every_bucket(cli) -> None:
    result = cli(*MARCH, "--type", "homicide", "--split", "outlet", "--normalize")
    assert result.exit_code == 0, result.output
    assert all(week in result.stdout for week in WEEKS)
    assert "25.0%" in result.stdout and "100.0%" in result.stdout


def test_plot_writes_a_real_chart_titled_with_the_query(cli, tmp_path: Path) -> None:
    svg, png = tmp_path / "trend.svg", tmp_path / "trend.png"
    result = cli(*MARCH, "--type", "homicide", "--split", "outlet", "--plot", str(svg), "--csv")
    assert result.exit_code == 0, result.output
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "Artículos por semana, por medio" in text and "tipo de violencia: Homicidio" in text
    assert "laprensagrafica" in text and "elfaro" in text  # the legend
    assert parse_csv(result)["bucket"] == WEEKS  # the data still goes to stdout
    assert cli(*MARCH, "--stories", "--plot", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "year"], "--interval 'year' is not known; use one of: day, week, month"),
        (["--split", "tipo"], "--split 'tipo' is not known; use one of: type, actor, outlet, department"),
        (["--plot", "chart.pdf"], "name a .png or .svg file"),
    ],
)
def test_bad_options_are_one_line_naming_the_valid_values(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["trends", *args])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_every_split_option_counts_a_field_of_the_request() -> None:
    assert sorted(SPLITS.values()) == sorted(request.SPLITS)
