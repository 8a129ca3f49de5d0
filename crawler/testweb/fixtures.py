"""The test web's data: each outlet's fixture articles (``content/<id>.yaml`` plus its version of
the shared wire story) placed at URLs that follow the outlet's real URL layout, and the two real
publisher pages from ``../shared`` (read from there at run time, never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from crawler.registry import Registry, Source, load_registry

HERE = Path(__file__).parent
CONTENT_DIR = HERE / "content"
SITES_FILE = HERE / "sites.yaml"
WIRE_FILE = "_shared_wire_story.yaml"
SHARED_HTML = HERE.parents[2] / "shared" / "benchmarks" / "extraction" / "trafilatura-es" / "html"
# Real pages served at their real URL (their og:url / canonical link).
REAL_PAGES = {
    "elfaro": (
        "elfaro.net-asamblea.html",
        "https://elfaro.net/es/202204/el_salvador/26136/"
        "Tras-una-semana-de-acoso-a-la-prensa-el-presidente-de-la-Asamblea-exige-a-periodistas-váyanse.htm",
    ),
    "laprensagrafica": (
        "laprensagrafica.com.fiscal.html",
        "https://www.laprensagrafica.com/elsalvador/Fiscal-considera-necesario-ampliar-regimen-de-excepcion-20220421-0096.html",
    ),
}


@dataclass
class FixtureArticle:
    """One article of the test web; ``labels`` are the gold answers."""

    source: str
    url: str
    slug: str
    section: str
    title: str
    lead: str
    authors: list[str]
    published: datetime
    modified: datetime | None
    tags: list[str]
    image_caption: str | None
    paragraphs: list[str]
    labels: dict[str, Any]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def last_modified(self) -> datetime:
        return self.modified or self.published


@dataclass(frozen=True)
class RealPage:
    source: str
    url: str
    file: Path


@dataclass
class Outlet:
    source: Source
    template: str
    theme: str
    articles: list[FixtureArticle] = field(default_factory=list)
    real_pages: list[RealPage] = field(default_factory=list)

    @property
    def host(self) -> str:
        return urlsplit(self.source.homepage).hostname or ""

    @property
    def base(self) -> str:
        return f"https://{self.host}"


class Fixtures:
    """Every outlet of the registry with its articles; missing content files give empty outlets."""

    def __init__(
        self, registry: Registry | None = None, content_dir: Path = CONTENT_DIR, shared_html: Path = SHARED_HTML
    ) -> None:
        self.registry = registry or load_registry()
        self.content_dir = content_dir
        self.shared_html = shared_html

    @cached_property
    def outlets(self) -> dict[str, Outlet]:
        layout = yaml.safe_load(SITES_FILE.read_text(encoding="utf-8"))
        missing = set(self.registry.ids) - set(layout)
        if missing:
            raise ValueError(
                f"{SITES_FILE} has no layout for sources {sorted(missing)}: add a path and template for each"
            )
        outlets = {
            s.id: Outlet(source=s, template=layout[s.id]["template"], theme=layout[s.id].get("theme", ""))
            for s in self.registry.sources
        }
        number = 1000
        for source_id, raw in self._raw_articles():
            outlet = outlets[source_id]
            number += 1
            outlet.articles.append(_article(outlet, raw, layout[source_id]["path"], number))
        if self.shared_html.is_dir():
            for source_id, (name, url) in REAL_PAGES.items():
                if (self.shared_html / name).exists():
                    outlets[source_id].real_pages.append(RealPage(source_id, url, self.shared_html / name))
        return outlets

    def _raw_articles(self) -> list[tuple[str, dict[str, Any]]]:
        pairs: list[tuple[str, dict[str, Any]]] = []
        for path in sorted(self.content_dir.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if path.name == WIRE_FILE:
                pairs += list(zip(data["republished_by"], data["articles"], strict=True))
            else:
                pairs += [(data["source"], article) for article in data["articles"]]
        return pairs

    @property
    def articles(self) -> list[FixtureArticle]:
        return [a for outlet in self.outlets.values() for a in outlet.articles]

    @property
    def real_pages(self) -> list[RealPage]:
        return [p for outlet in self.outlets.values() for p in outlet.real_pages]

    def outlet_for_host(self, host: str) -> Outlet | None:
        source = self.registry.source_for(f"https://{host}/")
        return self.outlets[source.id] if source else None


def _article(outlet: Outlet, raw: dict[str, Any], path_format: str, number: int) -> FixtureArticle:
    published = datetime.fromisoformat(raw["published"])
    fields = {
        "slug": raw["slug"],
        "section": raw["section"],
        "Section": raw["section"].capitalize(),
        "section_": raw["section"].replace("-", "_"),  # El Faro's underscored sections (el_salvador)
        "num": number,
        "num4": f"{number % 10000:04d}",
        "yyyy": f"{published:%Y}",
        "mm": f"{published:%m}",
        "dd": f"{published:%d}",
        "ym": f"{published:%Y%m}",
        "ymd": f"{published:%Y%m%d}",
        "stamp": f"{published:%Y%m%d%H%M%S}",
    }
    return FixtureArticle(
        source=outlet.source.id,
        url=outlet.base + path_format.format(**fields),
        slug=raw["slug"],
        section=raw["section"],
        title=raw["title"],
        lead=raw["lead"],
        authors=list(raw["authors"]),
        published=published,
        modified=datetime.fromisoformat(raw["modified"]) if raw.get("modified") else None,
        tags=list(raw["tags"]),
        image_caption=raw.get("image_caption"),
        paragraphs=list(raw["paragraphs"]),
        labels=raw["labels"],
    )
