"""Extraction: metadata, date priority, boilerplate, broken inputs, the `vigia extract` command.
The pages are written for these tests (fictional outlet and events); the two Salvadoran pages
of the shared benchmark are read from ../shared when it is there."""

from __future__ import annotations

import gzip
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from crawler.testweb.documents import article_page
from crawler.testweb.fixtures import Fixtures
from vigia.cli import app
from vigia.errors import NoArticle
from vigia.extract import ExtractHints, extract
from vigia.extract.boilerplate import strip_boilerplate
from vigia.extract.dates import first_plausible
from vigia.models import doc_id

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
SHARED_ES = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "extraction" / "trafilatura-es"
SV = ZoneInfo("America/El_Salvador")
URL = "https://diario-ejemplo.example/sucesos/capturan-dos-pandilleros-apopa/"
TEST_WEB = Fixtures()

PARAGRAPHS = [
    (
        "La alcaldía de Santa Ana inauguró este lunes un nuevo centro de atención para víctimas de "
        "violencia intrafamiliar, que funcionará en el antiguo edificio de correos de la ciudad."
    ),
    (
        "El centro contará con psicólogas, abogadas y trabajadoras sociales que atenderán de lunes a "
        "sábado, y ofrecerá acompañamiento a quienes decidan presentar una denuncia formal."
    ),
    (
        "Las autoridades municipales explicaron que el proyecto fue financiado con fondos propios y "
        "con el apoyo de organizaciones de mujeres que trabajan en el occidente del país."
    ),
]


def page(head: str = "", paragraphs: list[str] = PARAGRAPHS, extra_body: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="es"><head><meta charset="utf-8"><title>Nuevo centro en Santa Ana</title>'
        f"{head}</head><body><article><h1>Nuevo centro en Santa Ana</h1>{body}{extra_body}</article></body></html>"
    )


def jsonld(**fields: str) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", **fields})}</script>'


# -- a complete page -------------------------------------------------------------------


def test_complete_page_gives_clean_text_and_metadata() -> None:
    article = extract(
        (FIXTURES / "nota_completa.html").read_bytes(),
        URL,
        ExtractHints(source="ejemplo"),
    )
    assert article.title == "Capturan a dos pandilleros en Apopa"
    assert article.authors == ["Ana Martínez", "Luis Pérez"]
    assert article.published_at == datetime(2024, 3, 5, 10, 30, tzinfo=SV)
    assert article.modified_at == datetime(2024, 3, 5, 12, 0, tzinfo=SV)
    assert article.date_source == "jsonld"
    assert article.section == "Sucesos"
    assert article.tags == ["Apopa", "PNC", "homicidio"]
    assert article.canonical_url == URL
    assert article.image == "https://diario-ejemplo.example/imagenes/apopa-captura.jpg"
    assert article.language == "es"
    assert article.source == "ejemplo"
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("La Policía Nacional Civil capturó este martes")
    assert paragraphs[-1].startswith("Familiares de la víctima")
    for boilerplate in ("Lee también", "Te puede interesar", "Síguenos", "Suscríbete", "Foto:", "Compartir",
                        "Noticias relacionadas", "Detienen a sospechoso", "derechos reservados"):  # fmt: skip
        assert boilerplate not in article.text
    assert article.word_count == len(article.text.split()) and article.content_hash


def test_boilerplate_rules_keep_reporting_that_starts_like_a_teaser() -> None:
    long_paragraph = "Lee también " + "el informe de la procuraduría que detalla cada uno de los casos " * 8
    kept = strip_boilerplate(
        [
            "Primer párrafo de la nota con información.",
            "NOTAS RELACIONADAS",
            "Capturan a sospechoso en Soyapango",
            "Hallan restos en fosa clandestina",
            "Segundo párrafo, que vuelve a ser parte de la nota.",
            "¿Ya sabías que tenemos canal de WhatsApp? Únete aquí",
            "Fotografía: Cortesía PNC",
            "Familiares esperan frente a Medicina Legal de San Salvador (Ana María López)",
            "Publicidad",
            long_paragraph,
        ]
    )
    assert kept == [
        "Primer párrafo de la nota con información.",
        "Segundo párrafo, que vuelve a ser parte de la nota.",
        long_paragraph,
    ]


def test_standfirst_repeated_in_the_body_is_the_lead() -> None:
    lead = "Un centro para víctimas de violencia abre sus puertas en el antiguo edificio de correos."
    head = f'<meta property="og:description" content="{lead}">'
    article = extract(
        page(head, paragraphs=[lead, *PARAGRAPHS]),
        "https://diario-ejemplo.example/nota",
    )
    assert article.lead == lead
    assert article.text.split("\n") == PARAGRAPHS


@pytest.mark.parametrize("outlet_id", sorted(TEST_WEB.outlets))
def test_test_web_pages_of_each_outlet(outlet_id: str) -> None:
    """The local test web renders every registry outlet's article template: title, date,
    authors and the exact body come out (no lead, menu, related links or captions)."""
    outlet = TEST_WEB.outlets[outlet_id]
    if not outlet.articles:
        pytest.skip(f"no test-web articles for {outlet_id}")
    for fixture in outlet.articles:
        hints = ExtractHints(source=outlet_id, body_xpath=outlet.source.hints.body_xpath)
        article = extract(article_page(outlet, fixture, None, []), fixture.url, hints)
        assert (article.title, article.published_at, article.authors) == (
            fixture.title,
            fixture.published,
            fixture.authors,
        ), fixture.url
        assert article.text.split("\n") == fixture.paragraphs, fixture.url


# -- dates -----------------------------------------------------------------------------


def test_meta_published_time_with_its_zone() -> None:
    html = page('<meta property="article:published_time" content="2024-02-10T08:15:00Z">')
    article = extract(html, "https://diario-ejemplo.example/nota")
    assert article.published_at == datetime(2024, 2, 10, 8, 15, tzinfo=UTC)
    assert article.date_source == "meta"


def test_jsonld_wins_over_meta() -> None:
    head = jsonld(datePublished="2024-02-11T09:00:00-06:00") + (
        '<meta property="article:published_time" content="2024-02-10T08:15:00Z">'
    )
    article = extract(page(head), "https://diario-ejemplo.example/nota")
    assert article.published_at == datetime(2024, 2, 11, 9, 0, tzinfo=SV)
    assert article.date_source == "jsonld"


@pytest.mark.parametrize(
    ("shown", "expected", "source"),
    [
        # A date written near the headline is read before htmldate's generic search.
        (
            '<div class="fecha">Miércoles, 14 de febrero de 2024 - 10:30</div>',
            datetime(2024, 2, 14, 10, 30),
            "byline",
        ),
        (
            '<p class="fecha">Publicado el 14 de febrero de 2024 a las 3:05 p. m.</p>',
            datetime(2024, 2, 14, 15, 5),
            "byline",
        ),
        # Far below a long article, only the page's date element and htmldate see it.
        (
            "".join(f"<p>{PARAGRAPHS[0] * 2}</p>" for _ in range(3))
            + '<p class="fecha">Publicado el 14 de febrero de 2024 a las 3:05 p. m.</p>',
            datetime(2024, 2, 14, 15, 5),
            "page",
        ),
    ],
)
def test_date_shown_in_the_page(shown: str, expected: datetime, source: str) -> None:
    article = extract(page(extra_body=shown), "https://diario-ejemplo.example/nota")
    assert article.published_at == expected.replace(tzinfo=SV)
    assert article.date_source == source


def test_feed_date_then_url_date_when_the_page_has_none() -> None:
    feed_date = datetime(2024, 1, 20, 18, 45)  # naive: El Salvador time
    with_feed = extract(
        page(),
        "https://diario-ejemplo.example/2024/01/19/nota",
        ExtractHints(feed_date=feed_date),
    )
    assert with_feed.published_at == feed_date.replace(tzinfo=SV)
    assert with_feed.date_source == "feed"
    from_url = extract(page(), "https://diario-ejemplo.example/2024/01/19/nota")
    assert from_url.published_at == datetime(2024, 1, 19, tzinfo=SV)
    assert from_url.date_source == "url"
    undated = extract(page(), "https://diario-ejemplo.example/nota")
    assert undated.published_at is None and undated.date_source is None


@pytest.mark.parametrize("bad_date", ["2099-05-01T10:00:00-06:00", "1985-05-01T10:00:00-06:00"])
def test_future_and_pre_1990_dates_are_rejected(bad_date: str) -> None:
    html = page(jsonld(datePublished=bad_date))
    feed_date = datetime(2024, 1, 20, 18, 45, tzinfo=UTC)
    article = extract(html, "https://diario-ejemplo.example/nota", ExtractHints(feed_date=feed_date))
    assert article.published_at == feed_date
    assert article.date_source == "feed"


def test_small_future_tolerance_and_year_only_guess() -> None:
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    soon = now + timedelta(hours=3)
    assert first_plausible([("jsonld", lambda: soon)], now) == (soon, "jsonld")
    # htmldate answering a bare year (1 January, midnight) yields to a precise date of that year.
    year_only = datetime(2024, 1, 1, tzinfo=SV)
    feed = datetime(2024, 5, 30, 7, 0, tzinfo=SV)
    assert first_plausible([("htmldate", lambda: year_only), ("feed", lambda: feed)], now) == (feed, "feed")
    assert first_plausible([("htmldate", lambda: year_only)], now) == (
        year_only,
        "htmldate",
    )


# -- body sources ----------------------------------------------------------------------


def test_body_xpath_hint_selects_the_outlet_body() -> None:
    other = ["Columna de opinión sobre la economía regional y el precio del café en los mercados " * 3]
    html = (
        '<html lang="es"><body><div class="columna">' + "".join(f"<p>{p}</p>" for p in other * 4) + "</div>"
        '<div class="nota-cuerpo">' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div></body></html>"
    )
    hinted = extract(
        html,
        "https://x.example/n",
        ExtractHints(body_xpath='//div[@class="nota-cuerpo"]'),
    )
    assert hinted.text.split("\n") == PARAGRAPHS
    # A broken or stale hint is ignored, never fatal.
    assert extract(html, "https://x.example/n", ExtractHints(body_xpath="//div[")).text


def test_jsonld_article_body_when_the_page_shows_only_a_teaser() -> None:
    full_body = "\n".join(PARAGRAPHS * 2 + ["El centro atenderá también por teléfono durante las noches."])
    html = page(
        jsonld(headline="Nuevo centro en Santa Ana", articleBody=full_body),
        paragraphs=PARAGRAPHS[:1],
    )
    article = extract(html, "https://diario-ejemplo.example/nota")
    assert article.text.endswith("El centro atenderá también por teléfono durante las noches.")


def test_non_spanish_article_is_kept_and_marked() -> None:
    english = [
        (
            "The municipal government opened a new support centre for victims of domestic violence on "
            "Monday, in the old post office building of the city."
        ),
        (
            "Psychologists, lawyers and social workers will see visitors from Monday to Saturday and "
            "will help those who decide to file a formal complaint with the police."
        ),
    ]
    article = extract(page(paragraphs=english), "https://example.com/en/story")
    assert article.language == "en"


# -- broken inputs ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \n ", "", "\n\t"])
def test_empty_page(content: bytes | str) -> None:
    with pytest.raises(NoArticle, match="empty page"):
        extract(content, "https://x.example/")


def test_binary_data_served_as_html() -> None:
    junk = random.Random(4).randbytes(20000)
    with pytest.raises(NoArticle, match="binary"):
        extract(junk, "https://x.example/")
    with pytest.raises(NoArticle, match="PDF"):
        extract(b"%PDF-1.7\n" + junk, "https://x.example/informe.pdf")


def test_declared_utf8_but_windows_1252() -> None:
    html = page().encode("cp1252")
    article = extract(html, "https://x.example/n")
    assert "alcaldía de Santa Ana inauguró" in article.text
    assert "atención para víctimas" in article.text


def test_page_without_body_tag() -> None:
    html = "<html><head><title>Nota</title></head>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</html>"
    assert extract(html, "https://x.example/n").text.split("\n") == PARAGRAPHS


def test_truncated_page_keeps_what_arrived() -> None:
    html = (FIXTURES / "nota_completa.html").read_text(encoding="utf-8")
    cut = html[: html.index("Los investigadores sostienen") + 40]
    article = extract(cut, URL)
    assert article.text.startswith("La Policía Nacional Civil capturó")


def test_deeply_nested_page_still_gives_its_article() -> None:
    depth = 5000  # far beyond libxml2's nesting limit
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = "<html><body>" + "<div>" * depth + paragraphs + "</div>" * depth + "</body></html>"
    assert extract(html, "https://x.example/n").text.split("\n") == PARAGRAPHS


def test_navigation_only_page_is_no_article() -> None:
    with pytest.raises(NoArticle, match="too little text"):
        extract(
            "<html><body><nav><a href='/a'>Inicio</a></nav><p>Menú</p></body></html>",
            "https://x.example/",
        )


def test_five_megabyte_page() -> None:
    filler = "".join(f'<li><a href="/n/{i}">Enlace número {i} del menú</a></li>' for i in range(85000))
    html = page(extra_body=f"<aside><ul>{filler}</ul></aside>")
    assert len(html.encode()) > 5_000_000
    start = time.perf_counter()
    article = extract(html.encode(), "https://x.example/n")
    assert time.perf_counter() - start < 60
    assert article.text.startswith(PARAGRAPHS[0])


@pytest.mark.parametrize(
    "content",
    [
        "solo texto sin marcas",
        "<html><body><nav><a href='/a'>Inicio</a></nav></body></html>",
        "<<<>>><p",
        b"\xef\xbb\xbf<html><body><p>\xff\xfe</p></body></html>",
        "<html><body><script>var x = 1;</script></body></html>",
    ],
)
def test_odd_pages_give_an_article_or_a_reason(content: str | bytes) -> None:
    try:
        extract(content, "https://x.example/n")
    except NoArticle as exc:
        assert exc.reason


# -- the command -----------------------------------------------------------------------


def test_cli_round_trip(tmp_path: Path) -> None:
    gz = tmp_path / "nota.html.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "nota_completa.html").read_bytes()))
    empty = tmp_path / "vacia.html"
    empty.write_text("")
    runner = CliRunner()

    single = runner.invoke(app, ["extract", str(gz), "--url", URL])
    assert single.exit_code == 0, single.output
    record = json.loads(single.stdout)
    assert record["input"] == str(gz)
    assert record["title"] == "Capturan a dos pandilleros en Apopa"
    assert record["published_at"] == "2024-03-05T10:30:00-06:00"
    assert record["date_source"] == "jsonld"
    assert record["language"] == "es"
    assert record["canonical_url"] == URL
    assert record["text"].count("\n") == 4

    several = runner.invoke(app, ["extract", str(gz), str(empty), str(tmp_path / "falta.html")])
    assert several.exit_code == 1
    lines = [json.loads(line) for line in several.stdout.splitlines()]
    assert [line["input"] for line in lines] == [
        str(gz),
        str(empty),
        str(tmp_path / "falta.html"),
    ]
    assert lines[0]["title"] and "empty page" in lines[1]["error"] and "no such file" in lines[2]["error"]


# -- the Salvadoran pages of the shared benchmark ---------------------------------------


@pytest.mark.skipif(not SHARED_ES.is_dir(), reason=f"{SHARED_ES} not found (shared benchmarks absent)")
@pytest.mark.parametrize("name", ["elfaro.net-asamblea.html", "laprensagrafica.com.fiscal.html"])
def test_salvadoran_benchmark_pages_keep_their_reporting(name: str) -> None:
    cases = {case["file"]: (url, case) for url, case in json.loads((SHARED_ES / "evaldata.json").read_text()).items()}
    url, case = cases[name]
    article = extract((SHARED_ES / "html" / name).read_bytes(), url if url.startswith("http") else "")
    assert article.language == "es" and article.published_at is not None
    missing = [snippet for snippet in case.get("with", []) if snippet not in f"{article.title}\n{article.text}"]
    assert not missing


def test_a_canonical_url_on_another_site_is_ignored() -> None:
    """The canonical URL is the document id: a page may not claim another outlet's article."""
    body = "".join(
        f"<p>La Policía informó que el hecho ocurrió en el cantón número {i} del distrito.</p>" for i in range(8)
    )
    page = f'<html><head><title>Nota</title><link rel="canonical" href="{{}}"></head><body><article>{body}</article></body></html>'
    foreign = extract(page.format("https://otro-diario.example/nota-ajena"), "https://diario.example/nota")
    assert foreign.canonical_url is None and foreign.id == doc_id("https://diario.example/nota")
    own = extract(page.format("https://www.diario.example/nota-canonica"), "https://diario.example/nota?utm_source=x")
    assert own.canonical_url == "https://www.diario.example/nota-canonica"
