"""The source registry: outlets as data (``crawler/sources.yaml``), validated by a typed model.

Adding an outlet is a registry entry, not code: the generic spider reads discovery methods,
URL patterns, politeness and extraction hints from here. Each fact carries a ``status``
(``verified``: seen in real pages or URLs; ``assumed``: the usual layout for that platform).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

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
from vigia.models import doc_id, normalize_url

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


class Alias(_Strict):
    """Another address of the same articles (an old host, a beta site, a CMS's internal host):
    a URL starting with ``alias`` is the article at ``canonical`` plus the rest of the URL, so
    both addresses give one document id. Both prefixes are written in normalised form
    (``https://``, no ``www.``; see ``vigia.models.normalize_url``)."""

    alias: str = Field(pattern=r"^https://[^/]+/")
    canonical: str = Field(pattern=r"^https://[^/]+/")
    status: Status
    note: str = ""


class Politeness(_Strict):
    """Per-source overrides of the crawl settings (None: use the global setting)."""

    concurrency: int | None = Field(default=None, ge=1, le=8)
    delay_s: float | None = Field(default=None, ge=0)
    max_listing_pages: int | None = Field(default=None, ge=1)


class Hints(_Strict):
    """Optional extraction hints; the extractor falls back to its generic rules."""

    body_xpath: str | None = None
    note: str = ""


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    homepage: str
    domains: list[str] = Field(min_length=1)
    kind: Literal["newspaper", "digital", "broadcaster", "official"]
    platform: Platform
    article: ArticlePatterns
    aliases: list[Alias] = []
    discovery: list[Discovery] = Field(min_length=1)
    politeness: Politeness = Politeness()
    hints: Hints = Hints()

    @model_validator(mode="after")
    def _urls_on_own_domains(self) -> Source:
        prefixes = [p for a in self.aliases for p in (a.alias, a.canonical)]
        for url in [self.homepage, *(d.url for d in self.discovery), *prefixes]:
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

    def canonical_url(self, url: str) -> str:
        """The one address of the article at ``url``: normalised (scheme, ``www.``, tracking
        parameters, trailing slash, percent-encoding) and moved off alias hosts. Patterns are
        matched against this form, so they need not spell out every variant."""
        canonical = normalize_url(url)
        for alias in self.aliases:
            if canonical.startswith(alias.alias) or canonical + "/" == alias.alias:
                return alias.canonical + canonical[len(alias.alias) :]
        return canonical

    def fetch_url(self, url: str) -> str:
        """Where to request the article found at ``url``: on an alias address, its canonical URL,
        so that an article listed under two hosts is fetched once, under the address its
        document id comes from; any other URL as found (its own host's redirects are its own)."""
        canonical = self.canonical_url(url)
        return canonical if canonical != normalize_url(url) else url

    def denied_by(self, url: str) -> str | None:
        """The deny pattern that rules ``url`` out (None when none does)."""
        canonical = self.canonical_url(url)
        return next((p.pattern for p in self._deny if p.search(canonical)), None)

    def article_match(self, url: str) -> re.Match[str] | None:
        """The allow-pattern match when ``url`` is an article of this source, else None."""
        if not self.owns(url) or self.denied_by(url):
            return None
        canonical = self.canonical_url(url)
        return next((m for p in self._allow if (m := p.search(canonical))), None)

    @property
    def body_xpath(self) -> str | None:
        return self.hints.body_xpath

    def section_of(self, url: str) -> str | None:
        match = self.article_match(url)
        section = match.groupdict().get("section") if match else None
        return unquote(section) if section else None


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

    def check(self, url: str) -> UrlCheck:
        """Which outlet and pattern ``url`` falls under, or why none: the registry's answer for
        one URL (``vigia sources check`` and the evidence test use it)."""
        url = url.strip()
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            return UrlCheck(url, None, None, None, None, None, "not an http(s) URL with a host")
        matches = [(s, m) for s in self.sources if (m := s.article_match(url))]
        if len(matches) > 1:
            ids = ", ".join(s.id for s, _ in matches)
            return UrlCheck(
                url, None, None, None, None, None, f"ambiguous: article patterns of {ids} all match; narrow one of them"
            )
        if matches:
            source, match = matches[0]
            canonical = source.canonical_url(url)
            return UrlCheck(
                url, source.id, match.re.pattern, source.section_of(url), canonical, doc_id(canonical), "article"
            )
        source = self.source_for(url)
        host = urlsplit(url).hostname
        if source is None:
            return UrlCheck(
                url, None, None, None, None, None, f"no outlet owns {host}: add it to an entry's domains or a new entry"
            )
        canonical = source.canonical_url(url)
        if denied := source.denied_by(url):
            return UrlCheck(url, source.id, None, None, canonical, None, f"{source.id} denies it (pattern {denied})")
        return UrlCheck(
            url, source.id, None, None, canonical, None, f"{canonical} matches no article pattern of {source.id}"
        )

    def select(self, source_ids: list[str] | None) -> list[Source]:
        return [self.get(i) for i in source_ids] if source_ids else list(self.sources)


@dataclass(frozen=True)
class UrlCheck:
    """The registry's answer for one URL: its outlet and allow pattern when it is an article
    (with the canonical URL and document id it is stored under), else ``reason`` says why not."""

    url: str
    source: str | None
    pattern: str | None
    section: str | None
    canonical: str | None
    doc_id: str | None
    reason: str

    @property
    def is_article(self) -> bool:
        return self.pattern is not None


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
