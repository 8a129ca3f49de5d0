"""The source registry: outlets as data (``crawler/sources.yaml``), validated by a typed model.

Adding an outlet is a registry entry, not code: the generic spider reads discovery methods,
URL patterns, politeness and extraction hints from here. Each fact carries a ``status``
(``verified``: seen in real pages or URLs; ``assumed``: the usual layout for that platform).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vigia.errors import ConfigError, InputError

REGISTRY_PATH = Path(__file__).with_name("sources.yaml")

Status = Literal["verified", "assumed"]
DiscoveryKind = Literal["feed", "sitemap", "news_sitemap", "listing", "wp_api"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Discovery(_Strict):
    """One way to find article URLs: a feed, a sitemap (or index), a Google News sitemap,
    a section listing with pagination, or the WordPress REST API posts endpoint."""

    kind: DiscoveryKind
    url: str
    status: Status
    note: str = ""


class Platform(_Strict):
    name: Literal["wordpress", "custom"]
    status: Status
    note: str = ""


class ArticlePatterns(_Strict):
    """Which URLs are articles. A named group ``section`` in an allow pattern becomes the
    section hint for extraction."""

    allow: list[str] = Field(min_length=1)
    deny: list[str] = []
    status: Status
    note: str = ""

    @field_validator("allow", "deny")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        return patterns


class Politeness(_Strict):
    """Per-source overrides of the crawl settings (None: use the global setting)."""

    concurrency: int | None = Field(default=None, ge=1, le=8)
    delay_s: float | None = Field(default=None, ge=0)
    max_listing_pages: int | None = Field(default=None, ge=1)


class Hints(_Strict):
    """Optional extraction hints; the extractor falls back to its generic rules."""

    body_xpath: str | None = None


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    homepage: str
    domains: list[str] = Field(min_length=1)
    kind: Literal["newspaper", "digital", "official"]
    platform: Platform
    article: ArticlePatterns
    discovery: list[Discovery] = Field(min_length=1)
    politeness: Politeness = Politeness()
    hints: Hints = Hints()

    @model_validator(mode="after")
    def _urls_on_own_domains(self) -> Source:
        for url in [self.homepage, *(d.url for d in self.discovery)]:
            if not self.owns(url):
                raise ValueError(f"{url} is not on the source's domains {self.domains}: add its domain or fix the URL")
        return self

    @cached_property
    def _allow(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.article.allow]

    @cached_property
    def _deny(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.article.deny]

    def owns(self, url: str) -> bool:
        """True when the URL's host is one of the source's domains (or a subdomain)."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def article_match(self, url: str) -> re.Match[str] | None:
        """The allow-pattern match when ``url`` is an article of this source, else None."""
        if not self.owns(url) or any(p.search(url) for p in self._deny):
            return None
        return next((m for p in self._allow if (m := p.search(url))), None)

    @property
    def body_xpath(self) -> str | None:
        return self.hints.body_xpath

    def section_of(self, url: str) -> str | None:
        match = self.article_match(url)
        return match.groupdict().get("section") if match else None


class Registry(_Strict):
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        ids = [s.id for s in self.sources]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate source ids: {sorted(dupes)}")
        owners: dict[str, str] = {}
        for source in self.sources:
            for domain in source.domains:
                if domain in owners:
                    raise ValueError(f"domain {domain} belongs to both {owners[domain]} and {source.id}")
                owners[domain] = source.id
        return self

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise InputError(f"unknown source {source_id!r}; known: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.sources]

    @property
    def domains(self) -> list[str]:
        return [d for s in self.sources for d in s.domains]

    def source_for(self, url: str) -> Source | None:
        """The source whose domains hold ``url`` (None when no outlet in the registry does)."""
        return next((s for s in self.sources if s.owns(url)), None)

    def outlets(self) -> dict[str, Source]:
        return {s.id: s for s in self.sources}

    def select(self, source_ids: list[str] | None) -> list[Source]:
        return [self.get(i) for i in source_ids] if source_ids else list(self.sources)


class RegistryError(ConfigError):
    """The registry file is missing or invalid; the message names the file and the entry."""


def load_registry(path: Path | None = None) -> Registry:
    path = path or REGISTRY_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RegistryError(f"source registry {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"source registry {path} is not valid YAML: {exc}") from exc
    if isinstance(data, dict):  # top-level ``x-…`` keys hold YAML anchors shared by entries
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err, data) for err in exc.errors())
        raise RegistryError(f"source registry {path} is invalid: {problems}") from exc


def _describe(err: dict, data: object) -> str:
    """Names the entry by id (not only by list index) so the fix is easy to find."""
    loc = list(err["loc"])
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int) and isinstance(data, dict):
        try:
            where = f"source {data['sources'][loc[1]].get('id', loc[1])!r}: " + ".".join(str(p) for p in loc[2:])
        except (IndexError, AttributeError, KeyError):
            pass
    return f"{where} {err['msg']}"
