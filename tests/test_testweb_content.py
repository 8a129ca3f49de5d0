"""Validates the test web's article content (``crawler/testweb/content/*.yaml``).

The test web serves these files as HTML, and their ``labels`` are the gold answers the crawler
and classifier are checked against, so a malformed file or a label id that the taxonomy does not
know would silently corrupt every later measurement.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONTENT_DIR = REPO / "crawler" / "testweb" / "content"
TAXONOMY_YAML = REPO / "classifiers" / "taxonomy.yaml"
TAXONOMY_MD = REPO.parent / "shared" / "specs" / "taxonomy.md"
WIRE_FILE = "_shared_wire_story.yaml"

OUTLETS: dict[str, int] = {  # source id -> number of articles the test web serves for it
    **{
        source: 6
        for source in (
            "elfaro",
            "laprensagrafica",
            "elsalvador_com",
            "diarioelmundo",
            "diarioelsalvador",
            "diariocolatino",
            "revistafactum",
            "gatoencerrado",
            "lapagina",
            "elsalvadortimes",
            "contrapunto",
            "focos",
            "alharaca",
            "insightcrime",
        )
    },
    "pnc": 5,
    "fgr": 5,
    **{source: 2 for source in ("cronio", "diario1", "ultimahora", "canal12", "diariolahuella", "radioyskl")},
    **{source: 1 for source in ("voces", "resistencia", "ennews", "dinero")},
}
DEPARTMENTS = frozenset(
    {
        "Ahuachapán",
        "Santa Ana",
        "Sonsonate",
        "Chalatenango",
        "La Libertad",
        "San Salvador",
        "Cuscatlán",
        "La Paz",
        "Cabañas",
        "San Vicente",
        "Usulután",
        "San Miguel",
        "Morazán",
        "La Unión",
    }
)
ARTICLE_KEYS = frozenset(
    {
        "slug",
        "section",
        "title",
        "lead",
        "authors",
        "published",
        "modified",
        "tags",
        "image_caption",
        "paragraphs",
        "labels",
    }
)
LABEL_KEYS = frozenset({"violence_type", "actor", "department", "in_el_salvador"})
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIRST_DAY, LAST_DAY = date(2026, 10, 1), date(2026, 11, 27)
WORDS, PARAGRAPHS = (150, 700), (3, 12)


def _ids_from_yaml(data: Any, key: str) -> set[str]:
    """Label ids under ``key``: a list of ids, a list of ``{id: ...}`` mappings, or a mapping keyed by id."""
    entry = data[key]
    if isinstance(entry, dict):
        return set(entry)
    return {item["id"] if isinstance(item, dict) else item for item in entry}


def _ids_from_markdown(text: str, heading: str) -> set[str]:
    """Ids in the first column of the table under ``## heading`` in the taxonomy spec."""
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\|\s*`([a-z0-9_]+)`\s*\|", section, flags=re.MULTILINE))


def _taxonomy() -> dict[str, set[str]]:
    kinds = ("violence_type", "actor")
    if TAXONOMY_YAML.exists():
        data = yaml.safe_load(TAXONOMY_YAML.read_text(encoding="utf-8"))
        return {kind: _ids_from_yaml(data, kind) for kind in kinds}
    if TAXONOMY_MD.exists():
        text = TAXONOMY_MD.read_text(encoding="utf-8")
        return {kind: _ids_from_markdown(text, kind) for kind in kinds}
    pytest.skip(f"no taxonomy: neither {TAXONOMY_YAML} nor {TAXONOMY_MD} exists")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: top level must be a mapping"
    return data


def _files() -> list[Path]:
    return sorted(CONTENT_DIR.glob("*.yaml"))


def _articles() -> list[tuple[str, dict[str, Any]]]:
    """(file name, article) for every article in every content file."""
    return [(path.name, article) for path in _files() for article in _load(path)["articles"]]


def _article_id(item: tuple[str, dict[str, Any]]) -> str:
    return f"{item[0]}:{item[1].get('slug')}"


def _timestamp(value: Any, where: str) -> datetime:
    assert isinstance(value, str), f"{where}: dates must be quoted ISO strings, got {value!r}"
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{where}: {value} lacks a UTC offset (e.g. -06:00)"
    return parsed


def test_one_file_per_outlet_plus_the_wire_story() -> None:
    names = {path.name for path in _files()}
    assert names == {f"{source}.yaml" for source in OUTLETS} | {WIRE_FILE}


@pytest.mark.parametrize("source", sorted(OUTLETS))
def test_outlet_file_names_its_source_and_has_unique_slugs(source: str) -> None:
    data = _load(CONTENT_DIR / f"{source}.yaml")
    assert set(data) == {"source", "articles"}
    assert data["source"] == source
    slugs = [article["slug"] for article in data["articles"]]
    assert len(slugs) == OUTLETS[source]
    assert len(set(slugs)) == len(slugs), f"{source}: duplicate slugs {slugs}"


def test_wire_story_has_one_version_per_republisher() -> None:
    data = _load(CONTENT_DIR / WIRE_FILE)
    assert set(data) == {"source", "articles", "republished_by"}
    republishers = data["republished_by"]
    assert set(republishers) <= set(OUTLETS) and len(set(republishers)) == len(republishers)
    versions = data["articles"]
    assert len(versions) == len(republishers)
    assert len({v["title"] for v in versions}) == len(versions), "versions need different headlines"
    assert len({v["lead"] for v in versions}) == len(versions), "versions need different intros"
    labels = [v["labels"] for v in versions]
    assert all(label == labels[0] for label in labels), "one story: its versions share the gold labels"
    for version in versions:  # a republisher's slug must not clash with its own articles
        for source in republishers:
            own = {a["slug"] for a in _load(CONTENT_DIR / f"{source}.yaml")["articles"]}
            assert version["slug"] not in own


@pytest.mark.parametrize("item", _articles(), ids=_article_id)
def test_article_schema(item: tuple[str, dict[str, Any]]) -> None:
    where, article = _article_id(item), item[1]
    assert set(article) == ARTICLE_KEYS, f"{where}: keys differ by {set(article) ^ ARTICLE_KEYS}"
    assert SLUG.match(article["slug"]), f"{where}: slug is not url-safe"
    assert SLUG.match(article["section"]), f"{where}: section is not a slug"
    for key in ("title", "lead"):
        assert isinstance(article[key], str) and article[key].strip(), f"{where}: empty {key}"
    for key in ("authors", "tags"):
        assert all(isinstance(v, str) and v for v in article[key]), f"{where}: {key} must be strings"
    assert article["image_caption"] is None or isinstance(article["image_caption"], str)
    paragraphs = article["paragraphs"]
    assert PARAGRAPHS[0] <= len(paragraphs) <= PARAGRAPHS[1], f"{where}: {len(paragraphs)} paragraphs"
    assert all(isinstance(p, str) and p.strip() for p in paragraphs), f"{where}: empty paragraph"
    words = sum(len(p.split()) for p in paragraphs)
    assert WORDS[0] <= words <= WORDS[1], f"{where}: {words} words"


@pytest.mark.parametrize("item", _articles(), ids=_article_id)
def test_article_dates(item: tuple[str, dict[str, Any]]) -> None:
    where, article = _article_id(item), item[1]
    published = _timestamp(article["published"], where)
    assert FIRST_DAY <= published.date() <= LAST_DAY, f"{where}: published outside the test window"
    if article["modified"] is not None:
        assert _timestamp(article["modified"], where) >= published, f"{where}: modified before published"


@pytest.mark.parametrize("item", _articles(), ids=_article_id)
def test_article_labels(item: tuple[str, dict[str, Any]]) -> None:
    where, labels = _article_id(item), item[1]["labels"]
    assert set(labels) == LABEL_KEYS, f"{where}: label keys differ by {set(labels) ^ LABEL_KEYS}"
    assert isinstance(labels["in_el_salvador"], bool)
    for key in ("violence_type", "actor", "department"):
        values = labels[key]
        assert values == sorted(set(values)), f"{where}: {key} must be sorted, without duplicates"
    assert set(labels["department"]) <= DEPARTMENTS, f"{where}: unknown department"
    if "feminicide" in labels["violence_type"]:
        assert "homicide" in labels["violence_type"], f"{where}: feminicide always comes with homicide"
    if not labels["violence_type"]:
        assert not labels["actor"] and not labels["department"], f"{where}: no violence, so no actor or place"
    if not labels["in_el_salvador"]:
        assert not labels["department"], f"{where}: events abroad have no department"


@pytest.mark.parametrize("item", _articles(), ids=_article_id)
def test_label_ids_are_in_the_taxonomy(item: tuple[str, dict[str, Any]]) -> None:
    taxonomy = _taxonomy()
    where, labels = _article_id(item), item[1]["labels"]
    for kind, known in taxonomy.items():
        unknown = set(labels[kind]) - known
        assert not unknown, f"{where}: {kind} ids {sorted(unknown)} are not in the taxonomy"
