"""Parsers for discovery documents: RSS/Atom feeds, sitemaps (XML or plain text) and sitemap
indexes, Google News sitemaps, WordPress REST API post lists and section listings.

They keep what Scrapy's own sitemap spider drops (``news:publication_date``, ``news:title``,
``news:keywords``) because feed and sitemap dates are the extractor's date fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from lxml import etree, html

from vigia.extract.inputs import decompress_capped
from vigia.models import Link

NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
# The sitemaps protocol's limits: a text sitemap holding more URLs is cut there, and a longer
# line is no sitemap URL.
MAX_SITEMAP_URLS = 50_000
_MAX_URL_CHARS = 2048
_HTTP_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?", re.IGNORECASE)


@dataclass
class Sitemap:
    """A parsed sitemap: article entries (``<urlset>``) and child sitemaps (``<sitemapindex>``)."""

    links: list[Link] = field(default_factory=list)
    children: list[Link] = field(default_factory=list)


def parse_date(value: str | None) -> datetime | None:
    """W3C/ISO 8601 date or datetime → aware datetime (UTC when the value has no offset)."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_feed(body: bytes, base_url: str) -> list[Link]:
    """RSS 2.0 / Atom entries; feedparser normalises dates to UTC."""
    feed = feedparser.parse(body, response_headers={"content-location": base_url})
    links = []
    for entry in feed.entries:
        url = entry.get("link")
        if not url:
            continue
        links.append(
            Link(
                url=urljoin(base_url, url),
                published=_struct_time(entry.get("published_parsed")),
                # keys(), not get(): feedparser would alias a missing "updated" to "published"
                modified=_struct_time(entry["updated_parsed"] if "updated_parsed" in entry.keys() else None),  # noqa: SIM118
                title=entry.get("title") or None,
                keywords=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
            )
        )
    return links


def _struct_time(value: object) -> datetime | None:
    return datetime(*value[:6], tzinfo=UTC) if value else None  # type: ignore[index]


def parse_sitemap(body: bytes, max_bytes: int) -> Sitemap:
    """A sitemap, a sitemap index, a Google News sitemap, or a text sitemap (one URL a line;
    told apart by the content, not the URL), gzip-compressed or not, expanding to at most
    ``max_bytes``: :class:`~vigia.extract.inputs.TooLarge` otherwise; ValueError when the gzip
    data is corrupt."""
    if body[:2] == b"\x1f\x8b":
        body = decompress_capped(body, max_bytes)
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return Sitemap(links=parse_text_sitemap(body))
    root = etree.fromstring(body, parser=_XML_PARSER)
    result = Sitemap()
    if root is None:
        return result
    for node in root.iterfind("sm:sitemap", NS):
        loc = _text(node, "sm:loc")
        if loc:
            result.children.append(Link(url=loc, modified=parse_date(_text(node, "sm:lastmod"))))
    for node in root.iterfind("sm:url", NS):
        loc = _text(node, "sm:loc")
        if not loc:
            continue
        keywords = _text(node, "news:news/news:keywords") or ""
        result.links.append(
            Link(
                url=loc,
                published=parse_date(_text(node, "news:news/news:publication_date")),
                modified=parse_date(_text(node, "sm:lastmod")),
                title=_text(node, "news:news/news:title"),
                keywords=tuple(k.strip() for k in keywords.split(",") if k.strip()),
            )
        )
    return result


def parse_text_sitemap(body: bytes) -> list[Link]:
    """A text sitemap (UTF-8, one URL a line, as La Prensa Gráfica lists its archive): a line
    that is not one http(s) URL is skipped, and at most ``MAX_SITEMAP_URLS`` are kept."""
    links = []
    for line in body.decode("utf-8-sig", errors="replace").splitlines():
        if len(url := line.strip()) <= _MAX_URL_CHARS and _HTTP_URL.fullmatch(url):
            links.append(Link(url=url))
            if len(links) == MAX_SITEMAP_URLS:
                break
    return links


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path, NS)
    return found.text.strip() if found is not None and found.text else None


def parse_wp_posts(body: bytes) -> list[Link]:
    """A WordPress REST API ``/wp/v2/posts`` page (``date_gmt``/``modified_gmt`` are UTC)."""
    posts = json.loads(body)
    if not isinstance(posts, list):
        raise ValueError(f"WordPress API answered {type(posts).__name__}, expected a list of posts")
    return [
        Link(
            url=post["link"],
            published=parse_date(post.get("date_gmt")),
            modified=parse_date(post.get("modified_gmt")),
            title=html.fromstring(post["title"]["rendered"]).text_content()
            if post.get("title", {}).get("rendered")
            else None,
        )
        for post in posts
        if post.get("link")
    ]


def parse_listing(body: bytes, url: str, is_article: Callable[[str], bool]) -> tuple[list[Link], str | None]:
    """Article links on a section page, and the next page (``rel=next`` or a ``next`` link)."""
    doc = html.fromstring(body, base_url=url)
    doc.make_links_absolute(url, resolve_base_href=True)
    seen: dict[str, Link] = {}
    for href in doc.xpath("//a/@href"):
        href = href.split("#", 1)[0]
        if href not in seen and is_article(href):
            seen[href] = Link(url=href)
    nxt = doc.xpath(
        "(//link[@rel='next']/@href | //a[@rel='next']/@href"
        " | //a[contains(concat(' ', normalize-space(@class), ' '), ' next ')]/@href)[1]"
    )
    return list(seen.values()), (nxt[0] if nxt else None)


def in_window(link: Link, since: datetime | None, until: datetime | None) -> bool:
    """Whether a link may fall inside [since, until]; undated links are kept (extraction decides)."""
    date = link.date
    if date is None:
        return True
    return (since is None or date >= since) and (until is None or date <= until)
