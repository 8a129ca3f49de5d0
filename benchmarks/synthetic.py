"""Synthetic Spanish news articles for load tests: varied words, realistic lengths, no real texts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from vigia.models import Article

_SUBJECTS = [
    "La Policía Nacional Civil",
    "La Fiscalía General",
    "Un tribunal de sentencia",
    "Los vecinos de la colonia",
    "El Ministerio de Seguridad",
    "Una patrulla de la Fuerza Armada",
    "La alcaldía",
    "El Instituto de Medicina Legal",
]
_VERBS = ["informó que", "confirmó que", "denunció que", "aseguró que", "reportó que", "explicó que"]
_FACTS = [
    "dos hombres fueron capturados por extorsión",
    "se realizó un operativo en el distrito",
    "una mujer fue hallada sin vida en un cafetal",
    "las lluvias dañaron la carretera principal",
    "el mercado municipal reabrió tras la remodelación",
    "se decomisaron tres armas de fuego",
    "la audiencia inicial fue reprogramada",
    "los familiares exigen información sobre el detenido",
]
_PLACES = ["Soyapango", "Apopa", "Santa Ana", "San Miguel", "Zacatecoluca", "Usulután", "Chalatenango", "Sonsonate"]
_SOURCES = ["laprensagrafica", "elsalvador_com", "diarioelmundo", "diariocolatino", "elfaro"]


def synthetic_articles(count: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    articles = []
    for i in range(count):
        place = rng.choice(_PLACES)
        paragraphs = [
            f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_FACTS)} en {rng.choice(_PLACES)}."
            for _ in range(rng.randint(6, 30))
        ]
        articles.append(
            Article(
                url=f"https://{rng.choice(_SOURCES)}.example/{start.year}/nota-{i}",
                source=rng.choice(_SOURCES),
                title=f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_FACTS)} en {place}",
                text="\n".join(paragraphs),
                published_at=start + timedelta(minutes=37 * i),
                language="es",
                violence_type=rng.sample(["homicide", "arrest", "extortion", "weapons"], rng.randint(0, 2)),
                department=[rng.choice(["San Salvador", "Santa Ana", "San Miguel", "La Paz"])],
            ).finalize()
        )
    return articles
