"""The Atom feed of a search (RFC 4287), built with lxml so that crawled text is always escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from lxml import etree

from vigia.models import Article
from vigia.search.query import Query

ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all (control characters a crawled page may hold).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SUMMARY_CHARS = 400


def atom_feed(query: Query, articles: list[Article], base: str, self_url: str) -> bytes:
    """A valid Atom document: one entry per article, newest first; ids are stable tag URIs."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "es")
    qs = query.to_query_string()
    _text(feed, "id", f"tag:vigia,2024:search?{qs}" if qs else "tag:vigia,2024:search")
    _text(feed, "title", f"Vigía: {query.describe()}")
    _text(feed, "subtitle", "Noticias sobre violencia en El Salvador que coinciden con esta búsqueda.")
    _link(feed, "self", self_url, "application/atom+xml")
    _link(feed, "alternate", f"{base}/?{qs}" if qs else f"{base}/", "text/html")
    instants = [_when(a) for a in articles]
    _text(feed, "updated", _iso(max(instants, default=datetime.now(UTC))))
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Vigía")
    _text(feed, "generator", "Vigía")
    for article, updated in zip(articles, instants, strict=True):
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"tag:vigia,2024:article:{article.id}")
        _text(entry, "title", article.title or article.url)
        _text(entry, "updated", _iso(updated))
        if article.published_at:
            _text(entry, "published", _iso(article.published_at))
        _link(entry, "alternate", article.url, "text/html")
        _link(entry, "related", f"{base}/articulo/{quote(article.id)}", "text/html")
        source_author = etree.SubElement(entry, f"{{{ATOM}}}author")
        _text(source_author, "name", article.source_name or article.source)
        for term in [*article.violence_type, *article.actor, *article.department]:
            category = etree.SubElement(entry, f"{{{ATOM}}}category")
            category.set("term", _clean(term))
        summary = article.lead or article.text[:SUMMARY_CHARS]
        if summary:
            _text(entry, "summary", summary)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = _clean(value)  # lxml escapes <, > and &; the text type is plain text
    return element


def _link(parent: etree._Element, rel: str, href: str, kind: str) -> None:
    element = etree.SubElement(parent, f"{{{ATOM}}}link")
    element.set("rel", rel)
    element.set("href", _clean(href))
    element.set("type", kind)


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def _when(article: Article) -> datetime:
    return article.modified_at or article.published_at or article.crawled_at or datetime.now(UTC)


def _iso(instant: datetime) -> str:
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="seconds")
