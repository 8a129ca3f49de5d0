"""Gazetteer of El Salvador: find the departments and municipalities a Spanish text names.

Data in ``places.yaml``: 14 departments → 44 municipalities (2024 reform) → 262 districts (the
former municipalities), plus aliases, names that need context, and uses that are not places.
Matching ignores accents but keeps capitals, because in Spanish prose a place is capitalised and a
phrase is not ("la paz social" vs "La Paz").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import yaml

from vigia.errors import ConfigError

# Words right before an ambiguous name that show it is a place.
_LOCATIVE_CUE = re.compile(
    r"(municipio|distrito|ciudad|localidad|jurisdiccion|departamento|canton|caserio|poblacion|"
    r"comunidad|municipalidad|alcaldia|vecinos|habitantes|residentes|zona rural|area rural)"
    r"( [\w]+){0,3} (de|del|en)\s*$",
    re.IGNORECASE,
)
_DEPARTMENT_CUE = re.compile(r"departamento (de|del)\s*$", re.IGNORECASE)


def fold(text: str) -> str:
    """Remove accents, keep case and length-independent meaning (ñ→n, á→a)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


class Place(NamedTuple):
    """One reading of a name: its department, and its 2024 municipality / district when it is one."""

    department: str
    municipality: str | None = None
    district: str | None = None


class Mention(NamedTuple):
    """One place named in a text: where (character span of the accent-folded text) and which."""

    start: int
    end: int
    place: Place


@dataclass
class PlaceMatches:
    """What a text names, in order of first mention, without duplicates; ``mentions`` keeps every
    occurrence so a caller can judge each one by its context (``location.py``)."""

    departments: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    @classmethod
    def of(cls, mentions: list[Mention]) -> PlaceMatches:
        """The matches made of these mentions (in their order)."""
        result = cls()
        for mention in mentions:
            result.add(mention.place)
            result.mentions.append(mention)
        return result

    def add(self, place: Place) -> None:
        for values, value in (
            (self.departments, place.department),
            (self.municipalities, place.municipality),
            (self.districts, place.district),
        ):
            if value and value not in values:
                values.append(value)


class Gazetteer:
    """Compiled gazetteer; build once (``gazetteer()``), share everywhere."""

    def __init__(self, data: dict) -> None:
        self.departments: list[str] = list(data["departments"])
        self.municipalities: list[str] = [m for municipalities in data["departments"].values() for m in municipalities]
        self.readings: dict[str, list[Place]] = {}
        for department, municipalities in data["departments"].items():
            self._add(department, Place(department))
            for municipality, districts in municipalities.items():
                self._add(municipality, Place(department, municipality))
                for district in districts:
                    self._add(district, Place(department, municipality, district))
        by_district = {p.district: p for places in self.readings.values() for p in places if p.district}
        for alias, district in (data.get("aliases") or {}).items():
            if district not in by_district:
                raise ConfigError(f"places.yaml: alias {alias!r} points to unknown district {district!r}")
            self._add(re.sub(r"\s*\(.*\)$", "", alias), by_district[district])
        self.ambiguous = {fold(name) for name in data.get("ambiguous") or []}
        unknown = self.ambiguous - set(self.readings)
        if unknown:
            raise ConfigError(f"places.yaml: ambiguous names that are not places: {sorted(unknown)}")
        names = sorted(self.readings, key=len, reverse=True)
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, names)) + r")(?!\w)")
        blocked = data.get("not_places") or {}
        self._phrases = [re.compile(p, re.IGNORECASE) for p in blocked.get("phrases") or []]
        self._before = re.compile(r"(?<!\w)(" + "|".join(blocked.get("before") or ["$^"]) + r")\s+$", re.IGNORECASE)
        self._after = re.compile(r"^\s+(" + "|".join(blocked.get("after") or ["$^"]) + r")(?!\w)", re.IGNORECASE)
        departments = "|".join(re.escape(fold(d)) for d in self.departments)
        # "Colón, La Libertad", "El Rosario (Morazán)", "San Isidro de Cabañas": the department that follows.
        self._department_after = re.compile(r"^\s*(?:,|\(|de|del departamento de)\s*(" + departments + r")(?!\w)")

    def _add(self, name: str, place: Place) -> None:
        readings = self.readings.setdefault(fold(name), [])
        if place not in readings:
            readings.append(place)

    def find(self, text: str) -> PlaceMatches:
        """Departments, 2024 municipalities and districts named in ``text``, in order of mention.

        A department name that is also a city ("San Miguel") counts as the city unless written
        "departamento de San Miguel"; an ambiguous name ("Victoria", "El Rosario") counts only
        after a locative cue ("municipio de", "cantón X de") or when one of its departments is
        named unambiguously in the same text.
        """
        folded = fold(text)
        blocked = [m.span() for p in self._phrases for m in p.finditer(folded)]
        sure: list[tuple[int, list[Place]]] = []
        pending: list[tuple[int, list[Place]]] = []
        ends: dict[int, int] = {}
        department_only: set[int] = set()  # where a department name qualifies the place before it
        for match in self._pattern.finditer(folded):
            start, end = match.span()
            if any(s <= start and end <= e for s, e in blocked):
                continue
            before, after = folded[max(0, start - 40) : start], folded[end : end + 40]
            if self._before.search(before) or self._after.match(after):
                continue
            readings = self.readings[match.group(1)]
            ends[start] = end
            if start in department_only or _DEPARTMENT_CUE.search(before):
                readings = [p for p in readings if p.municipality is None] or readings
            elif len(readings) > 1:
                # A city named like its department: the city (its district) implies the department.
                readings = [p for p in readings if p.district] or readings
            followed = self._department_after.match(after)
            if followed:
                department_only.add(end + followed.start(1))
                readings = [p for p in readings if p.department == followed.group(1)] or readings
            if match.group(1) in self.ambiguous and not (followed or _LOCATIVE_CUE.search(before)):
                pending.append((start, readings))
            else:
                sure.append((start, readings))
        named = {p.department for _, readings in sure if len(readings) == 1 for p in readings}
        chosen: list[tuple[int, Place]] = []
        for start, readings in sure + pending:
            in_context = [p for p in readings if p.department in named]
            if (start, readings) in pending and not in_context:
                continue
            if len(readings) == 1:
                chosen.append((start, readings[0]))
            elif len(in_context) == 1:
                chosen.append((start, in_context[0]))
            elif len({p.department for p in readings}) == 1:
                chosen.append((start, Place(readings[0].department)))
        return PlaceMatches.of(
            [Mention(start, ends[start], place) for start, place in sorted(chosen, key=lambda item: item[0])]
        )


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The project's gazetteer, loaded from the packaged ``places.yaml``."""
    text = resources.files("classifiers").joinpath("places.yaml").read_text(encoding="utf-8")
    return Gazetteer(yaml.safe_load(text))


def find_places(text: str) -> PlaceMatches:
    """Shortcut: ``gazetteer().find(text)``."""
    return gazetteer().find(text)
