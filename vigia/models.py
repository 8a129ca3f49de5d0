"""The records that travel through the stages: discover (:class:`Link`) → fetch
(:class:`FetchedPage`) → extract → classify → index (:class:`Article`, :class:`Revision`).

Its fields are the article index's fields (``index_config/articles.template.json``); a field
added here must be added there too (a test checks that both agree).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

# El Salvador time: a page date without a zone, a day bound and a histogram bucket are read in it.
LOCAL_TZ = ZoneInfo("America/El_Salvador")

# Query parameters that never change which article a URL points to.
_TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "amp", "outputtype", "ref")


def normalize_url(url: str) -> str:
    """Canonical form used for identity: scheme/host lower-cased, no tracking params,
    no fragment, no trailing slash, ``www.``/``m.`` and ``http`` folded, AMP suffixes removed,
    percent-encoding made uniform."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    for suffix in ("/amp/", "/amp"):
        if path.endswith(suffix):
            path = path[: -len(suffix)] or "/"
    path = quote(unquote(path), safe="/!$&'()*+,;=:@-._~")  # 'á' and '%C3%A1' are one path
    path = path.rstrip("/") or "/"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING_PARAMS)
    ]
    return urlunsplit(("https", host, path, urlencode(sorted(query)), ""))


def doc_id(url: str) -> str:
    """Document id: the same article re-crawled (any URL variant) maps to the same id."""
    return hashlib.sha1(normalize_url(url).encode("utf-8")).hexdigest()


def content_hash(title: str, text: str) -> str:
    """Hash of what a reader sees; a change here is a new revision."""
    normalized = " ".join(f"{title}\n{text}".split())
    return hashlib.sha1(normalized.encode("utf-8")).hexdigest()


@dataclass
class Revision:
    """A previous version of an article: kept when a re-crawl finds a changed text."""

    content_hash: str
    seen_at: datetime | None = None
    modified_at: datetime | None = None
    word_count: int = 0

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Revision:
        return cls(
            content_hash=doc["content_hash"],
            seen_at=_parse_dt(doc.get("seen_at")),
            modified_at=_parse_dt(doc.get("modified_at")),
            word_count=doc.get("word_count") or 0,
        )


@dataclass
class Article:
    url: str
    source: str
    source_name: str = ""
    canonical_url: str | None = None
    section: str | None = None
    title: str = ""
    lead: str = ""
    text: str = ""
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    crawled_at: datetime | None = None
    date_source: str | None = None
    title_source: str | None = None  # "headline" (the page's heading), "jsonld", "meta", "feed", "html"
    author_source: str | None = None  # "byline" (printed beside the headline), "jsonld", "meta"
    language: str | None = None
    word_count: int = 0
    violence_type: list[str] = field(default_factory=list)
    actor: list[str] = field(default_factory=list)
    label_scores: dict[str, float] = field(default_factory=dict)
    department: list[str] = field(default_factory=list)
    municipality: list[str] = field(default_factory=list)
    in_el_salvador: bool | None = None
    classifier: str | None = None
    story_cluster: str | None = None
    content_hash: str = ""
    revision: int = 1
    previous_versions: list[Revision] = field(default_factory=list)

    @property
    def id(self) -> str:
        return doc_id(self.canonical_url or self.url)

    def finalize(self) -> Article:
        """Fill the derived fields (hash, word count) from title and text; an article that no
        clusterer has seen is a story of its own."""
        self.content_hash = content_hash(self.title, self.text)
        self.word_count = len(self.text.split())
        self.story_cluster = self.story_cluster or self.id
        return self

    def to_doc(self) -> dict[str, Any]:
        """The JSON document stored in the index (datetimes as ISO 8601)."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Article:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in doc.items() if k in known}
        for key in ("published_at", "modified_at", "crawled_at"):
            data[key] = _parse_dt(data.get(key))
        data["previous_versions"] = [Revision.from_doc(r) for r in data.get("previous_versions") or []]
        return cls(**data)


def _parse_dt(value: str | datetime | None) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value) if value else None
    return value


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, recursively: the form documents take in the index."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Link:
    """A URL found by discovery, with what the discovery document said about it."""

    url: str
    published: datetime | None = None
    modified: datetime | None = None
    title: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def date(self) -> datetime | None:
        return self.published or self.modified


@dataclass(frozen=True)
class FetchedPage:
    """An article page as fetched, with what discovery said about it (extraction hints)."""

    url: str
    source: str
    html: str | bytes  # bytes as fetched: extraction detects the real encoding
    fetched_at: datetime
    link: Link
    section: str | None
    revisit: bool
