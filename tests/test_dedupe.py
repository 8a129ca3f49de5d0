"""Story clusters: copies of one story share a cluster, other stories on the same topic do not.
All texts are written for these tests (fictional events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from crawler.testweb.documents import article_page
from crawler.testweb.fixtures import CONTENT_DIR, WIRE_FILE, Fixtures
from vigia.errors import ConfigError
from vigia.extract import ExtractHints, extract
from vigia.models import Article
from vigia.pipeline.stories import StoryClusterer

WIRE_FILE_PATH = CONTENT_DIR / WIRE_FILE
WIRE_STORY = [
    (
        "Agentes de la Policía Nacional Civil capturaron este martes a tres hombres señalados de "
        "extorsionar a comerciantes del mercado municipal de Ciudad Delgado, informó la corporación "
        "policial en un comunicado difundido al mediodía."
    ),
    (
        "Según la información oficial, los detenidos exigían cuotas semanales de entre veinte y "
        "cincuenta dólares a los vendedores de verduras y a los dueños de dos comedores ubicados "
        "frente a la terminal de buses de la ruta 38."
    ),
    (
        "Durante los registros, los agentes decomisaron cuatro teléfonos celulares, una libreta con "
        "anotaciones de pagos y una suma de dinero en efectivo que aún no ha sido cuantificada, "
        "detalló el jefe de la delegación policial de la zona norte."
    ),
    (
        "Los capturados serán remitidos en las próximas horas al Juzgado de Paz de Ciudad Delgado, "
        "donde la Fiscalía General de la República presentará el requerimiento por el delito de "
        "extorsión agravada en perjuicio de al menos once víctimas."
    ),
    (
        "Las autoridades pidieron a otros comerciantes afectados que denuncien de forma anónima a "
        "través del número de emergencias, y aseguraron que los patrullajes en el mercado se "
        "mantendrán durante las próximas semanas."
    ),
]

SAME_TOPIC_OTHER_STORY = [
    (
        "La Fiscalía General de la República acusó formalmente a una mujer de cuarenta y dos años "
        "por cobrar rentas a transportistas de la ruta 101 en Santa Tecla, según confirmó la "
        "institución a través de sus redes sociales el jueves por la tarde."
    ),
    (
        "De acuerdo con la investigación, la imputada recibía los pagos en una tienda de su "
        "propiedad y después entregaba el dinero a miembros de una estructura criminal que opera "
        "en la colonia Las Delicias desde hace varios años."
    ),
    (
        "Un juez de instrucción de Santa Tecla ordenó que la mujer continúe en detención "
        "provisional mientras se desarrolla la fase de investigación, que tendrá una duración de "
        "seis meses, y fijó la audiencia preliminar para el mes de marzo."
    ),
    (
        "Los motoristas de la ruta denunciaron que las exigencias de dinero comenzaron el año "
        "pasado y que varios de ellos abandonaron el trabajo por temor a represalias contra sus "
        "familias, explicó uno de los representantes de la cooperativa."
    ),
]


def article(url: str, title: str, paragraphs: list[str], published: datetime | None = None) -> Article:
    return Article(
        url=url,
        source="test",
        title=title,
        text="\n".join(paragraphs),
        published_at=published,
    )


def test_wire_story_at_two_outlets_is_one_story_and_same_topic_is_another(
    tmp_path: Path,
) -> None:
    clusterer = StoryClusterer(tmp_path / "state.npz")
    first = article(
        "https://diario-uno.example/sucesos/capturan-extorsionistas",
        "Capturan a tres extorsionistas en mercado de Ciudad Delgado",
        WIRE_STORY,
    )
    # Another outlet: other headline, an agency tag, one paragraph cut and its own closing line.
    second = article(
        "https://diario-dos.example/nacionales/2024/05/07/pnc-detiene-tres-hombres",
        "PNC detiene a tres hombres por cobrar renta a vendedores",
        ["(Agencias)", *WIRE_STORY[:4], "Para más noticias visite nuestra portada."],
    )
    other = article(
        "https://diario-uno.example/judiciales/acusan-mujer-rentas",
        "Acusan a mujer por cobrar rentas a transportistas",
        SAME_TOPIC_OTHER_STORY,
    )
    a, b, c = clusterer.assign([first, second, other])
    assert a == b == first.id == second.story_cluster
    assert c != a and c == other.id


def test_print_copy_joins_and_recrawl_keeps_its_cluster(tmp_path: Path) -> None:
    clusterer = StoryClusterer(tmp_path / "state.npz")
    original = article("https://diario-uno.example/sucesos/nota-1", "Titular", WIRE_STORY)
    printed = article("https://diario-uno.example/sucesos/nota-1/print", "Titular", WIRE_STORY)
    amp = article("https://www.diario-uno.example/sucesos/nota-1/amp/", "Titular", WIRE_STORY)
    cluster = clusterer.assign([original])[0]
    assert clusterer.assign([printed])[0] == cluster
    assert amp.id == original.id and clusterer.assign([amp])[0] == cluster
    # The same article re-crawled with an updated text stays in its story.
    updated = article(
        original.url,
        "Titular",
        [*WIRE_STORY, "Actualización: un cuarto sospechoso fue detenido."],
    )
    assert clusterer.assign([updated])[0] == cluster
    assert len(clusterer) == 2  # original (= amp) and the print copy


def test_short_texts_match_only_when_identical(tmp_path: Path) -> None:
    clusterer = StoryClusterer(tmp_path / "state.npz")
    brief = ["Un hombre murió atropellado en la carretera al puerto de La Libertad."]
    other_brief = ["Un hombre resultó herido en la carretera al puerto de La Libertad."]
    a = clusterer.assign([article("https://a.example/1", "Muere peatón", brief)])[0]
    b = clusterer.assign([article("https://b.example/2", "Muere peatón", brief)])[0]
    c = clusterer.assign([article("https://c.example/3", "Peatón herido", other_brief)])[0]
    assert a == b
    assert c != a


def test_clusters_survive_a_save_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "dedupe" / "clusters.npz"
    clusterer = StoryClusterer.open(path)
    first = article("https://diario-uno.example/a", "T1", WIRE_STORY)
    clusterer.assign([first, article("https://diario-uno.example/b", "T2", SAME_TOPIC_OTHER_STORY)])
    cluster = first.story_cluster
    assert clusterer.save() == path

    reopened = StoryClusterer.open(path)
    assert len(reopened) == 2
    copy = article("https://diario-tres.example/c", "Otro titular", WIRE_STORY[1:])
    assert reopened.assign([copy])[0] == cluster


def test_old_articles_are_forgotten(tmp_path: Path) -> None:
    clusterer = StoryClusterer(tmp_path / "state.npz", retention_days=30)
    old = datetime.now(UTC) - timedelta(days=45)
    clusterer.assign(
        [
            article("https://diario-uno.example/viejo", "T", WIRE_STORY, published=old),
            article("https://diario-uno.example/nuevo", "T", SAME_TOPIC_OTHER_STORY),
        ]
    )
    clusterer.save()
    assert len(StoryClusterer.open(tmp_path / "state.npz", retention_days=30)) == 1


def test_state_written_with_other_settings_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.npz"
    clusterer = StoryClusterer(path, num_perm=64)
    clusterer.assign([article("https://diario-uno.example/a", "T", WIRE_STORY)])
    clusterer.save()
    with pytest.raises(ConfigError, match="other settings.*delete it"):
        StoryClusterer.open(path)
    path.write_bytes(b"not numpy")
    with pytest.raises(ConfigError, match="unreadable.*delete it"):
        StoryClusterer.open(path)


def test_test_web_wire_story_is_the_only_shared_cluster(tmp_path: Path) -> None:
    """Every article of the local test web, extracted from its page: the agency story that two
    outlets republish (other headline, intro and boilerplate) is one story; all others differ."""
    test_web = Fixtures()
    articles = [
        extract(
            article_page(outlet, fixture, None, []),
            fixture.url,
            ExtractHints(source=outlet.source.id),
        )
        for outlet in test_web.outlets.values()
        for fixture in outlet.articles
    ]
    StoryClusterer(tmp_path / "state.npz").assign(articles)
    members: dict[str | None, list[str]] = {}
    for a in articles:
        members.setdefault(a.story_cluster, []).append(a.source)
    shared = [sorted(sources) for sources in members.values() if len(sources) > 1]
    wire = yaml.safe_load(WIRE_FILE_PATH.read_text(encoding="utf-8"))
    assert shared == [sorted(wire["republished_by"])]
