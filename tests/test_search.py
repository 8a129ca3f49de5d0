"""The query model (no engine) and search, facets and trends against live engines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from test_store import BASE_DATE, synthetic
from typer.testing import CliRunner

from vigia.cli import app
from vigia.errors import InputError
from vigia.models import LOCAL_TZ, Article
from vigia.search import results
from vigia.search.query import Query, parse_bound
from vigia.search.results import highlight_fragments
from vigia.search.trends import trends
from vigia.store import Store

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=LOCAL_TZ)


# -- the query model -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"violence_type": ("homicidio",)}, "--type 'homicidio' is not known; use one of: homicide"),
        ({"actor": ("mara",)}, "--actor 'mara' is not known; use one of:"),
        ({"department": ("San Salbador",)}, "--department 'San Salbador' is not known; use one of: Ahuachapán"),
        ({"municipality": ("Soyapanga",)}, "--municipality 'Soyapanga' is not known"),
        (
            {"source": ("nosuch",), "sources_known": ("elfaro", "laprensagrafica")},
            "use one of: elfaro, laprensagrafica",
        ),
        ({"language": ("Spanish",)}, "ISO 639-1"),
        ({"since": "2024-02-30"}, "date '2024-02-30' is not understood"),
        ({"since": "ayer"}, "such as 24h, 7d or 12w"),
        ({"since": "2024-03-02", "until": "2024-03-01"}, "is after until"),
        ({"sort": "oldest"}, "use date or relevance"),
    ],
)
def test_bad_values_are_named_with_the_valid_ones(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("|", r"\|")):
        Query(**kwargs)


def test_relative_and_absolute_dates() -> None:
    assert parse_bound("24h", end=False, now=NOW) == NOW - timedelta(hours=24)
    assert parse_bound("7d", end=False, now=NOW) == NOW - timedelta(days=7)
    assert parse_bound("12w", end=False, now=NOW) == NOW - timedelta(weeks=12)
    # a day is its first (since) or last second (until, inclusive) in El Salvador
    assert parse_bound("2024-03-01", end=False, now=NOW) == datetime(2024, 3, 1, tzinfo=LOCAL_TZ)
    assert parse_bound("2024-03-01", end=True, now=NOW) == datetime(2024, 3, 1, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert parse_bound("2024-03-01T12:00:00+00:00", end=False, now=NOW) == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert Query(since="7d").window(NOW) == (NOW - timedelta(days=7), None)


def test_every_search_round_trips_through_a_url() -> None:
    query = Query(
        text='"régimen de excepción" | capturas -fútbol',
        violence_type=("arrest", "state_abuse"),
        actor=("police",),
        department=("San Salvador",),
        municipality=("San Salvador Este",),
        source=("elfaro",),
        language=("es",),
        in_el_salvador=True,
        since="12w",
        until="2026-12-01",
        stories=False,
        sort="relevance",
    )
    again = Query.from_query_string(query.to_query_string())
    assert again == query
    assert Query.from_query_string("") == Query()
    assert Query().to_query_string() == ""  # defaults stay out of links
    # other parameters of a page's URL are not the query's; comma lists are accepted
    assert Query.from_query_string("q=x&page=3&type=homicide,arrest") == Query(
        text="x", violence_type=("homicide", "arrest")
    )
    with pytest.raises(InputError, match="copies 'some' is not known"):
        Query.from_query_string("copies=some")


def test_highlights_are_structured_fragments_never_markup() -> None:
    # the engine HTML-encodes crawled text around its own <mark> tags
    snippet = "dijo &lt;&#x2F;mark&gt; [bold]x[&#x2F;x] <mark>captura</mark> fin"
    assert highlight_fragments(snippet) == [("dijo </mark> [bold]x[/x] ", False), ("captura", True), (" fin", False)]


# -- against the engines -------------------------------------------------------------------
def test_filters_phrases_or_exclusion_and_highlight(store: Store) -> None:
    store.upsert(synthetic(i) for i in range(40))
    store.refresh()
    page = results.search(
        store, Query(text="extorsión", violence_type=("arrest",), department=("La Libertad",), stories=False), size=5
    )
    assert page.total == 10  # arrests are the odd i; La Libertad is i % 4 == 1
    assert len(page.hits) == 5 and page.cursor
    assert all("arrest" in h.article.violence_type and h.article.department == ["La Libertad"] for h in page.hits)
    assert any(matched for h in page.hits for pieces in h.fragments() for _, matched in pieces)
    assert results.search(store, Query(text='"caso número 7."', stories=False)).total == 1
    assert results.search(store, Query(text='"número 7." | "número 8."', stories=False)).total == 2
    assert results.search(store, Query(text='pandilleros -"número 7."', stories=False)).total == 39
    until = (BASE_DATE + timedelta(hours=23)).isoformat()  # an instant is inclusive
    assert results.count(store, Query(until=until)) == 24
    assert results.count(store, Query(in_el_salvador=True)) == 0


def test_stories_collapse_copies_and_count_outlets(store: Store) -> None:
    story = synthetic(1)
    copies = [
        dataclasses.replace(story, url=f"https://{outlet}.example/nota", source=outlet, story_cluster=story.id)
        for outlet in ("elfaro", "laprensagrafica")
    ]
    store.upsert([story, *copies, synthetic(2), synthetic(3)])
    store.refresh()
    stories = results.search(store, Query(text="pandilleros"))
    assert (stories.total, stories.stories, len(stories.hits)) == (5, 3, 3)
    wire = next(h for h in stories.hits if h.article.story_cluster == story.id)
    assert wire.copies_total == 3 and wire.outlets == ["elfaro", "example", "laprensagrafica"]
    everything = results.search(store, Query(text="pandilleros", stories=False))
    assert len(everything.hits) == 5
    found = results.article(store, story.id)
    assert found is not None and {c.source for c in found[1]} == {"elfaro", "laprensagrafica"}
    facets = results.facets(store, Query())
    assert dict(facets["counts"]["source"]) == {"example": 3, "elfaro": 1, "laprensagrafica": 1}


def test_search_after_pages_past_ten_thousand_hits(store: Store) -> None:
    total = 10_250
    store.upsert(
        Article(
            url=f"https://example.sv/breve/{i}",
            source="example",
            title=f"Breve {i}",
            text="Nota breve.",
            published_at=BASE_DATE + timedelta(minutes=i % 500),
        ).finalize()
        for i in range(total)
    )
    store.refresh()
    seen = [a.url for a in results.scan(store, Query(), page_size=2000)]
    assert len(seen) == len(set(seen)) == total
    query = Query(stories=False)
    first = results.search(store, query, size=10)
    second = results.search(store, query, size=10, cursor=first.cursor)
    assert first.total == total and not {h.article.url for h in first.hits} & {h.article.url for h in second.hits}
    with pytest.raises(InputError, match="narrow the search"):
        results.search(store, Query(), size=10, cursor="10000")


def test_trends_zero_fill_split_and_local_time(store: Store) -> None:
    store.upsert(synthetic(i) for i in range(40))
    store.refresh()
    days = trends(store, Query(), interval="day", split_by="violence_type")
    assert sum(sum(v) for name, v in days.series.items() if name != "arrest") == 40
    # i = 0 is 08:00 UTC = 02:00 in El Salvador: the local 1 October holds i = 0..21
    assert [b.date().isoformat() for b in days.buckets] == ["2026-10-01", "2026-10-02"]
    assert days.series["homicide"] == [11, 9] and days.series["arrest"] == [11, 9]
    # a week with nothing in it stays as a zero between the given dates
    weeks = trends(store, Query(since="2026-09-14", until="2026-10-11"), interval="week")
    assert [b.date().isoformat() for b in weeks.buckets] == ["2026-09-14", "2026-09-21", "2026-09-28", "2026-10-05"]
    assert weeks.series["total"] == [0, 0, 40, 0]


def test_trends_normalised_share_of_the_same_outlets(store: Store) -> None:
    day = datetime(2026, 3, 31, 23, 30, tzinfo=LOCAL_TZ)  # 23:30 local on the last day of a month
    articles = [
        dataclasses.replace(synthetic(i), url=f"https://a.example/{i}", published_at=day - timedelta(days=i % 3))
        for i in range(6)
    ]
    store.upsert(articles)
    store.refresh()
    months = trends(store, Query(), interval="month")
    assert [b.date().isoformat() for b in months.buckets] == ["2026-03-01"]  # not April
    share = trends(store, Query(violence_type=("arrest",)), interval="month", normalize=True)
    assert share.baseline == [6] and share.series["total"] == [pytest.approx(3 / 6)]


def test_cli_search_shows_hostile_text_literally(cli_store: Store) -> None:
    store = cli_store
    hostile = dataclasses.replace(
        synthetic(5, text="Texto con </mark> y [bold]marcas[/x] <script>alert(1)</script> y extorsión."),
        title="[red]Titular[/] </mark>",
    ).finalize()
    store.upsert([hostile])
    store.refresh()
    table = CliRunner().invoke(app, ["search", "extorsión", "--facets"], env={"COLUMNS": "400"})
    as_json = CliRunner().invoke(app, ["search", "extorsión", "--json"])
    assert table.exit_code == 0, table.output
    assert "[red]Titular[/] </mark>" in table.output and "</mark>" in table.output
    assert as_json.exit_code == 0 and "[bold]marcas[/x]" in as_json.output
