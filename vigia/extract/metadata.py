"""What a page says about itself in machine-readable form: JSON-LD article objects and
`<meta>` tags. Publishers fill these for search engines, so they are the most reliable
source of dates, headline and article body when present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement

_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting|NewsArticle)$", re.IGNORECASE)
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publish_date", "dc.date.issued", "dcterms.issued",
    "dc.date", "sailthru.date", "parsely-pub-date", "cxenseparse:recs:publishtime",
)  # fmt: skip
_MODIFIED_META = (
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "dcterms.modified", "last-modified",
)  # fmt: skip
_SECTION_META = ("article:section", "og:article:section", "section", "parsely-section")
_DATE_ELEMENTS = etree.XPath(
    "//body//*[contains(translate(@class, 'FECHADT', 'fechadt'), 'fecha') or contains(translate(@class, 'DATE', 'date'), 'date')"
    " or contains(translate(@class, 'PUBLICADO', 'publicado'), 'publica') or contains(translate(@id, 'FECHADT', 'fechadt'), 'fecha')"
    " or contains(translate(@id, 'DATE', 'date'), 'date') or self::time]"
)
_DATE_TEXT_MAX = 200
_TAG_META = ("article:tag", "og:article:tag", "news_keywords", "parsely-tags")


@dataclass
class PageMeta:
    """The article-level facts declared by the page (empty strings/lists when absent)."""

    headline: str = ""
    description: str = ""
    article_body: str = ""
    published: str = ""
    published_source: str = ""  # "jsonld" or "meta"
    modified: str = ""
    authors: list[str] = field(default_factory=list)
    section: str = ""
    tags: list[str] = field(default_factory=list)
    image: str = ""
    lang: str = ""


def read_page_meta(tree: HtmlElement, url: str = "") -> PageMeta:
    """Collects JSON-LD and `<meta>` facts; JSON-LD wins where both exist."""
    meta = PageMeta(lang=_html_lang(tree))
    article = _pick_article(list(_jsonld_objects(tree)), url)
    if article:
        meta.headline = _text(article.get("headline") or article.get("name"))
        meta.description = _text(article.get("description"))
        meta.article_body = _body_text(article.get("articleBody"))
        meta.published = _text(article.get("datePublished") or article.get("dateCreated"))
        meta.published_source = "jsonld" if meta.published else ""
        meta.modified = _text(article.get("dateModified"))
        meta.authors = _names(article.get("author"))
        meta.section = _first_text(article.get("articleSection"))
        meta.tags = _keywords(article.get("keywords"))
        meta.image = _url(article.get("image"))
    tags = _meta_values(tree)
    if not meta.published and (published := _first_meta(tags, _PUBLISHED_META)):
        meta.published, meta.published_source = published, "meta"
    meta.modified = meta.modified or _first_meta(tags, _MODIFIED_META)
    meta.section = meta.section or _first_meta(tags, _SECTION_META)
    meta.tags = meta.tags or [t for key in _TAG_META for v in tags.get(key, []) for t in _keywords(v)]
    return meta


def date_texts(tree: HtmlElement, limit: int = 5) -> list[str]:
    """Short texts of the elements a page uses to show its date (class or id naming a date)."""
    texts = []
    for element in _DATE_ELEMENTS(tree):
        text = " ".join(element.text_content().split())
        if 0 < len(text) <= _DATE_TEXT_MAX:
            texts.append(text)
            if len(texts) == limit:
                break
    return texts


def _html_lang(tree: HtmlElement) -> str:
    root = tree.getroottree().getroot()
    value = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    return value.split("-")[0].strip().lower()


def _jsonld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD scripts, nested ones and @graph members too."""
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip().removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        yield from _walk(data, depth=0)


def _walk(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in data:
                yield from _walk(data[key], depth + 1)


def _is_article(obj: dict[str, Any]) -> bool:
    types = obj.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and _ARTICLE_TYPES.search(t) for t in types)


def _pick_article(objects: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The page's own article: the one naming this URL, else the first with a body, else the
    first article-typed object (pages also list related articles in JSON-LD)."""
    articles = [o for o in objects if _is_article(o)]
    if not articles:
        return None
    path = url.split("?")[0].rstrip("/").split("//")[-1]
    for obj in articles:
        own = _url(obj.get("url")) or _url(obj.get("mainEntityOfPage"))
        if path and own and own.split("?")[0].rstrip("/").split("//")[-1] == path:
            return obj
    return next((o for o in articles if o.get("articleBody")), articles[0])


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _first_text(value: Any) -> str:
    return _text(value[0] if isinstance(value, list) and value else value)


def _body_text(value: Any) -> str:
    """articleBody is sometimes HTML: reduce it to plain text, keeping line breaks."""
    if not isinstance(value, str) or not value.strip():
        return ""
    if "<" in value and ">" in value:
        try:
            fragment = lxml_html.fragment_fromstring(value, create_parent="div")
        except (ValueError, etree.ParserError):
            return value.strip()
        for block in fragment.iter("p", "br", "li", "h2", "h3", "h4", "div"):
            block.tail = "\n" + (block.tail or "")
        value = fragment.text_content()
    return "\n".join(line for raw in value.splitlines() if (line := " ".join(raw.split())))


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _text(item.get("name")) if isinstance(item, dict) else _text(item)
        if name and name not in names:
            names.append(name)
    return names


def _keywords(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [k for item in items if isinstance(item, str) and (k := " ".join(item.split()))]


def _url(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("url") or value.get("@id") or ""
    return value.strip() if isinstance(value, str) else ""


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """`<meta>` contents by lower-cased property / name / itemprop."""
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        content = element.get("content")
        if key and content and content.strip():
            found.setdefault(key.strip().lower(), []).append(content.strip())
    return found


def _first_meta(tags: dict[str, list[str]], keys: tuple[str, ...]) -> str:
    return next((tags[key][0] for key in keys if key in tags), "")
