"""Where the reported events happened: of the places a news article names, keep the scene.

Gold labels (``shared/specs/labeling.md``) give the departments where the violence or arrest took
place, not every place named. Reports name many others: the town of the court that hears the
case ("Tribunal de Sentencia de Santa Tecla"), the seat of an office ("con sede en San Salvador"),
a person's origin ("originario de Teotepeque") and, after the article, links to related stories.
Those mentions are dropped here; what remains goes through the capital rule below.
"""

from __future__ import annotations

import re

from classifiers.places import Mention, PlaceMatches, find_places, fold, gazetteer

# Institutions whose seat is named with "de/en <place>"; the words in between are the
# institution's capitalised name or these lower-case connectives ("Juzgado Especializado de
# Sentencia para una Vida Libre de Violencia ... de San Salvador", "penal de máxima seguridad en").
_INSTITUTION = (
    r"juzgados?|tribunal(?:es)?|camara|jue(?:z|za|ces)|corte|fiscalia|procuraduria|sede|"
    r"oficinas?|penal|penitenciaria|carcel|prision|bartolinas?|centro de confinamiento|"
    r"orden(?:es)? de (?:captura|detencion|arresto)(?: (?:emitida|girada|librada))?"
)
_CONNECTIVE = (
    r"de|del|la|las|los|lo|el|para|y|e|un|una|en|con|contra|maxima|alta|mediana|seguridad|"
    r"especializad[oa]s?|instruccion|sentencia|paz|primera|instancia|menores|vigilancia|familia"
)
_SEAT = re.compile(rf"\b(?i:{_INSTITUTION})(?:\s+(?:[A-Z]\w*|(?i:{_CONNECTIVE})))*?\s+(?i:de|en)\s*$")
# A person's origin or home, not the scene.
_ORIGIN = re.compile(
    r"\b(?:originari[oa]s?|oriund[oa]s?|natural|nacid[oa]s?|domiciliad[oa]s?|con domicilio|"
    r"regresar a su (?:casa|hogar)|se dirigia a su (?:casa|hogar)),?\s+(?:de|en)\s*$",
    re.IGNORECASE,
)
# Where the article ends and the site's related-links block begins.
_TRAILER = re.compile(
    r"\b(?:MAS SOBRE ESTE TEMA|KEYWORDS|IR A LA PORTADA|Te puede interesar|Lee tambien|"
    r"Noticias relacionadas|Temas relacionados)\b",
    re.IGNORECASE,
)
# "Santa Tecla, La Libertad", "Nahuizalco, departamento de Sonsonate", "Monte San Juan,
# Cojutepeque": a place of the same department right after another shares its fate.
_QUALIFIER_GAP = re.compile(r"^\s*(?:,|\()?\s*(?:del?\s+)?(?:departamento\s+de\s+)?$", re.IGNORECASE)
# A department named alone is a place after a preposition, a comma or "departamento de"; after a
# verb or at a sentence start it is a phrase or a subject ("confirmó La Paz", "Cabañas, que es el
# departamento con menos municipios").
_PLACE_LEAD = re.compile(r"(?:\b(?:en|de|del|a|al|hacia|desde|por|y|e|o|entre)|[,(])\s*$", re.IGNORECASE)
_CONTEXT = 160  # characters of left context read for a mention

CAPITAL = "San Salvador"


def _is_scene(folded: str, mention: Mention) -> bool:
    """False when the mention names a court or office seat, or a person's origin."""
    before = folded[max(0, mention.start - _CONTEXT) : mention.start]
    before = re.split(r"[.;:\n]", before)[-1]  # stay in the sentence
    if mention.place.municipality is None and not _PLACE_LEAD.search(before):
        return False
    return not (_SEAT.search(before) or _ORIGIN.search(before))


def event_places(title: str, text: str) -> PlaceMatches:
    """The places named as where the events happened (in order of mention)."""
    full = f"{title or ''}\n{text or ''}"
    folded = fold(full)
    trailer = _TRAILER.search(folded, len(title or "") + 1)
    if trailer:
        full, folded = full[: trailer.start()], folded[: trailer.start()]
    kept: list[Mention] = []
    previous: tuple[Mention, bool] | None = None
    for mention in find_places(full).mentions:
        qualifies = (
            previous is not None
            and mention.place.department == previous[0].place.department
            and _QUALIFIER_GAP.match(folded[previous[0].end : mention.start]) is not None
        )
        scene = previous[1] if qualifies and previous else _is_scene(folded, mention)
        if scene:
            kept.append(mention)
        previous = (mention, scene)
    return PlaceMatches.of(kept)


def event_departments(matches: PlaceMatches) -> list[str]:
    """The departments of the scene. The capital is the seat of courts, ministries and newsrooms,
    so "San Salvador" named only as the city is dropped when other departments are named."""
    departments = list(matches.departments)
    if CAPITAL in departments and len(departments) > 1:
        readings = gazetteer().readings
        capital_districts = {d for d in matches.districts for p in readings.get(fold(d), []) if p.department == CAPITAL}
        if capital_districts <= {CAPITAL}:
            departments.remove(CAPITAL)
    return departments


def event_location(title: str, text: str) -> tuple[list[str], list[str]]:
    """(departments, 2024 municipalities) where the reported events happened."""
    places = event_places(title, text)
    return event_departments(places), places.municipalities
