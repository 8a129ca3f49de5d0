"""Dates, bylines and titles as the page shows them (issue 14, item 5).

The small pages here are written for these tests (fictional outlet and people); the real
pages are read from ../shared/benchmarks/extraction/trafilatura-es/ when it is there, with
their visible values from tests/fixtures/metadata/trafilatura-es-visible.json.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from vigia.extract import extract
from vigia.extract.dates import byline_date, page_zone, shown_clock, shown_dates
from vigia.extract.metadata import clean_names, is_site_name, person_or_agency

SV = ZoneInfo("America/El_Salvador")
LA_PAZ = ZoneInfo("America/La_Paz")
URL = "https://www.diario-ejemplo.example/sucesos/nota-de-prueba/"
REPO = Path(__file__).resolve().parents[1]
TRUTH = json.loads((REPO / "tests/fixtures/metadata/trafilatura-es-visible.json").read_text())
BODY = "".join(
    f"<p>{text}</p>"
    for text in (
        (
            "La Policía Nacional Civil informó este jueves de la captura de tres personas en "
            "el municipio de Soyapango, acusadas de extorsionar a comerciantes del mercado."
        ),
        (
            "Según el reporte, los detenidos exigían cuotas semanales a los vendedores y "
            "amenazaban a quienes se negaban a pagar, informaron fuentes de la corporación."
        ),
        (
            "Los capturados serán remitidos a la Fiscalía General de la República en las "
            "próximas horas, donde se les acusará del delito de extorsión agravada."
        ),
    )
)
TEASERS = (
    '<aside class="related"><article><h3><a href="/otra-nota/">Otra noticia del día</a></h3>'
    '<div class="author">Pedro Páramo</div><time>2 de marzo de 2022</time></article></aside>'
)


def page(head: str = "", header: str = "", before: str = "") -> str:
    """A news page with the headline, what the test puts around it, and a body."""
    return (
        '<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">'
        "<title>Capturan a tres extorsionistas en Soyapango | Diario Ejemplo</title>"
        '<meta property="og:site_name" content="Diario Ejemplo">'
        f"{head}</head><body><header><a href='/'>Diario Ejemplo</a></header><main><article>"
        f"{before}<h1>Capturan a tres extorsionistas en Soyapango</h1>{header}{BODY}"
        f"</article>{TEASERS}</main></body></html>"
    )


# -- dates ---------------------------------------------------------------------------------


def test_date_beside_the_byline_wins_over_a_related_articles_date() -> None:
    """No structured date: the day printed under the headline, not the teaser's or one
    htmldate would guess from the page."""
    article = extract(page(header="<p>Ana Gómez</p><p>Jueves, 21 de <b>Abril</b> de 2022</p>"), URL)
    assert article.published_at == datetime(2022, 4, 21, tzinfo=SV)
    assert article.date_source == "byline"


def test_date_printed_above_the_headline() -> None:
    article = extract(page(before="<div>26, Abril, 2022 <span>7:43 p.m.</span></div>"), URL)
    assert article.published_at == datetime(2022, 4, 26, 19, 43, tzinfo=SV)
    assert article.date_source == "byline"


def test_update_date_stands_in_only_when_it_is_the_only_date() -> None:
    both = "<p>Actualizado el 23 de abril de 2022</p><p>Publicado el 21/04/2022 10:05</p>"
    assert extract(page(header=both), URL).published_at == datetime(2022, 4, 21, 10, 5, tzinfo=SV)
    alone = "<p>Actualizado el: 19 abril 2022 9:12 pm</p>"
    assert extract(page(header=alone), URL).published_at == datetime(2022, 4, 19, 21, 12, tzinfo=SV)


def test_structured_date_still_comes_first() -> None:
    head = '<meta property="article:published_time" content="2022-04-20T08:00:00-06:00">'
    article = extract(page(head=head, header="<p>21 de abril de 2022</p>"), URL)
    assert article.published_at == datetime(2022, 4, 20, 8, tzinfo=SV)
    assert article.date_source == "meta"


def test_utc_label_on_the_local_clock_the_page_prints() -> None:
    """A CMS without a time zone labels local clock time as UTC; the page prints the same
    clock time: it is local time. A true UTC time (clock differs) is left alone."""
    shown = datetime(2022, 5, 11, 3, 40, tzinfo=SV)
    mislabelled = datetime.fromisoformat("2022-05-11T03:40:00.396+00:00")
    assert shown_clock(mislabelled, shown) == datetime(2022, 5, 11, 3, 40, 0, 396000, tzinfo=SV)
    true_utc = datetime.fromisoformat("2022-05-04T00:25:56+00:00")
    assert shown_clock(true_utc, datetime(2022, 5, 3, 21, 25, tzinfo=SV)) == true_utc


def test_time_without_a_zone_is_the_pages_country_time() -> None:
    """A Bolivian outlet's zone-less datePublished is La Paz time (UTC-4): read as El Salvador
    time it would move 23:57 to the next day there. Elsewhere El Salvador time stays."""
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2022-5-3T23:57:00"}</script>'
    bolivian = extract(page(head=head), "https://www.diario-ejemplo.com.bo/seguridad/2022/5/3/nota-330199.html")
    assert bolivian.published_at == datetime(2022, 5, 3, 23, 57, tzinfo=LA_PAZ)
    assert bolivian.date_source == "jsonld"
    assert extract(page(head=head), URL).published_at == datetime(2022, 5, 3, 23, 57, tzinfo=SV)


def jsonld_dates(published: str, modified: str) -> str:
    return (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"datePublished": "{published}", "dateModified": "{modified}"}}</script>'
    )


def test_modification_time_the_page_presents_as_its_date() -> None:
    """The page prints its dateModified beside the byline (a story republished under a new
    day): readers see that day. Announced as an update, the print does not count."""
    head = jsonld_dates("2022-05-03 13:32:45", "2022-05-04 00:00:00")
    shown = extract(page(head=head, header="<p>04 de mayo 2022, 12:00 A. M.</p>"), URL)
    assert (shown.published_at, shown.date_source) == (datetime(2022, 5, 4, tzinfo=SV), "byline")
    update = extract(page(head=head, header="<p>Actualizado: 04 de mayo 2022, 12:00 A. M.</p>"), URL)
    assert (update.published_at, update.date_source) == (datetime(2022, 5, 3, 13, 32, 45, tzinfo=SV), "jsonld")


def test_modification_time_a_publication_meta_declares() -> None:
    """Another declared publication time equal to dateModified presents it as the date; one
    in datePublished's own minute changes nothing (not even the source)."""
    head = jsonld_dates("2022-05-10T23:35:55", "2022-05-11T4:10:00")
    head += '<meta name="cXenseParse:recs:publishtime" content="2022-05-11T04:10:00-06:00">'
    article = extract(page(head=head), URL)
    assert (article.published_at, article.date_source) == (datetime(2022, 5, 11, 4, 10, tzinfo=SV), "meta")
    same = jsonld_dates("2022-04-29T00:00:00-05:00", "2022-04-29T00:00:08-05:00")
    same += '<meta property="article:published_time" content="2022-04-29T00:00:08-05:00">'
    assert extract(page(head=same), URL).date_source == "jsonld"


@pytest.mark.parametrize(
    ("url", "zone"),
    [
        ("https://www.paginasiete.bo/seguridad/nota.html", LA_PAZ),
        ("https://elpais.com.uy/informacion/nota.html", ZoneInfo("America/Montevideo")),
        ("https://www.elsalvador.com/noticias/nacional/nota/123/2024", SV),
        ("https://startup.co/blog/post", SV),  # .co is sold for generic use
        ("", SV),
    ],
)
def test_page_zone_by_country_domain(url: str, zone: ZoneInfo) -> None:
    assert page_zone(url) == zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jueves, 21 de Abril de 2022 21/04/2022", datetime(2022, 4, 21)),
        ("mayo 11, 2022", datetime(2022, 5, 11)),
        ("6 May 2022 - 2:00 a. m.", datetime(2022, 5, 6, 2)),
        ("3/5/2022 22:41", datetime(2022, 5, 3, 22, 41)),
        ("Publicado el 03/05/2022 a las 22h03", datetime(2022, 5, 3, 22, 3)),
        ("26.04.2022", datetime(2022, 4, 26)),
        ("27 de Abr de 2022", datetime(2022, 4, 27)),
        ("sabado 07 de mayo del 2022", datetime(2022, 5, 7)),
        ("10/05/2022 05:22 pm", datetime(2022, 5, 10, 17, 22)),
    ],
)
def test_written_date_forms(text: str, expected: datetime) -> None:
    assert shown_dates(text)[0] == (expected.replace(tzinfo=SV), False)


def test_relative_and_impossible_dates_are_not_dates() -> None:
    assert byline_date("Publicado hace 3 horas") is None
    assert byline_date("31/02/2022 y 45 de mayo de 2022") is None


# -- bylines -------------------------------------------------------------------------------


def test_visible_byline_wins_over_the_metadata_author() -> None:
    """Metadata often names the CMS account or the uploading editor; readers see the byline."""
    head = '<meta name="author" content="editor.web">' + (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"name": "Carlos Editor"}}</script>'
    )
    header = '<p class="sart-author">por <span class="author vcard">Henry Montaño</span></p>'
    article = extract(page(head=head, header=header), URL)
    assert article.authors == ["Henry Montaño"]
    assert article.author_source == "byline"


def test_metadata_author_when_the_page_prints_none() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "author": [{"name": "Laura Ríos"}]}</script>'
    article = extract(page(head=head), URL)
    assert (article.authors, article.author_source) == (["Laura Ríos"], "jsonld")


@pytest.mark.parametrize(
    "site_author",
    [
        "Noticias de El Salvador - Diario Ejemplo | Informate con la verdad",
        "Www Diario-ejemplo Example",
        "DIARIO EJEMPLO",
    ],
)
def test_site_name_is_never_an_author(site_author: str) -> None:
    head = f'<meta name="author" content="{site_author}">'
    article = extract(page(head=head), URL)
    assert article.authors == []
    assert article.author_source is None


@pytest.mark.parametrize(
    ("header", "authors"),
    [
        ('<div class="story-meta"><span>EFE</span></div>', ["EFE"]),
        ("<address><strong>Agencia EFE</strong></address>", ["Agencia EFE"]),
        ('<div class="autor">Por AFP</div>', ["AFP"]),
        ('<p class="news-author">Por Laura Jordán / Javier Urbano</p>', ["Laura Jordán", "Javier Urbano"]),
        ('<div class="author">e. barrena / J. I. da silva</div>', ["e. barrena", "J. I. da silva"]),
        ('<div class="autor"><a href="/autor/x">Redacción EC</a></div>', ["Redacción EC"]),
        ('<div><a href="/user/profile/rmonte"> Rebeca Montes</a></div>', ["Rebeca Montes"]),
        ('<span class="writter">Por: Juan Diego</span>', ["Juan Diego"]),
        ('<div class="byline"><a>Isabel Caro</a>, <a>Rocío Lara</a> y <a>José Wilson</a></div>',
         ["Isabel Caro", "Rocío Lara", "José Wilson"]),
        ('<div class="autor">Juan Carlos Muñoz C.</div>', ["Juan Carlos Muñoz C."]),
    ],
)  # fmt: skip
def test_visible_bylines_people_agencies_and_desks(header: str, authors: list[str]) -> None:
    article = extract(page(header=header), URL)
    assert article.authors == authors
    assert article.author_source == "byline"


def test_teaser_comment_and_photo_credit_names_are_not_the_byline() -> None:
    header = (
        '<div class="credito"><strong>Foto:</strong><p class="autor">Jaime Nieto</p></div>'
        '<section id="comments"><div class="comment-author">Lector frecuente</div></section>'
    )
    assert extract(page(header=header), URL).authors == []


def test_name_rules() -> None:
    assert clean_names("Por María Reina maria.reina@diario.example | Actualizado 27/04", []) == ["María Reina"]
    assert clean_names("FOTO: Jaime Nieto", []) == []
    assert not person_or_agency("Redacción")  # a desk without a name names no one
    assert not person_or_agency("REDACCIÓN")
    assert not person_or_agency("leerlos cuando quiera")
    assert not person_or_agency("edilson.la.rosa")
    assert person_or_agency("ERBOL")
    assert is_site_name("Www Diarioextra Com", ["diarioextra.com", "diarioextra"])


# -- titles --------------------------------------------------------------------------------


def test_title_is_the_headline_not_the_social_title() -> None:
    head = '<meta property="og:title" content="Tres capturados por extorsión | Diario Ejemplo">'
    article = extract(page(head=head), URL)
    assert article.title == "Capturan a tres extorsionistas en Soyapango"
    assert article.title_source == "headline"


def test_title_without_heading_loses_the_site_name_and_a_cut_quote() -> None:
    html = page().replace("<h1>Capturan a tres extorsionistas en Soyapango</h1>", "")
    html = html.replace(
        "<title>Capturan a tres extorsionistas en Soyapango | Diario Ejemplo</title>",
        '<title>Senador llama a Biden "incapacitado" - Diario Ejemplo</title>'
        '<meta property="og:title" content="Senador llama a Biden ">',
    )
    article = extract(html, URL)
    assert article.title == 'Senador llama a Biden "incapacitado"'
    assert article.title_source == "meta"


# -- the real pages ------------------------------------------------------------------------

FIVE = {
    "elfaro.net-asamblea.html": ("date", "authors"),
    "laprensagrafica.com.fiscal.html": ("authors",),
    "prensalibre.com-tendencia.html": ("authors",),
    "100noticias.com-millones.html": ("date",),
    "guetemala.com-nicole.html": ("date",),
}


@pytest.mark.parametrize("name", sorted(FIVE))
def test_issue_pages_give_their_visible_values(shared: Path, name: str) -> None:
    """The five pages named in issue 14 (item 5): date and byline as the page prints them."""
    html = (shared / "benchmarks/extraction/trafilatura-es/html" / name).read_bytes()
    truth = TRUTH[name]
    article = extract(html, "")
    if "date" in FIVE[name]:
        assert article.published_at is not None
        assert article.published_at.astimezone(ZoneInfo(truth["tz"])).date().isoformat() == truth["date"]
    if "authors" in FIVE[name]:
        assert article.authors == truth["authors"]
        assert article.author_source == "byline"
    assert article.title == truth["title"]


# The issue's goals: date 97 %, title 95 %, authors 90 %.
FLOORS = {"date": 0.97, "title": 0.95, "authors": 0.90}


def test_benchmark_pages_keep_their_accuracy(shared: Path) -> None:
    """Date, title and authors of the 47 real pages against their visible values
    (benchmarks/metadata.py prints the same, next to trafilatura's defaults)."""
    spec = importlib.util.spec_from_file_location("metadata_bench", REPO / "benchmarks/metadata.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look themselves up there
    spec.loader.exec_module(bench)
    shares, misses = bench.score(bench.load_pages(shared), bench.vigia_found)
    for field, floor in FLOORS.items():
        assert shares[field] >= floor, f"{field}: {shares[field]:.1%} < {floor:.0%}: {misses[field]}"
