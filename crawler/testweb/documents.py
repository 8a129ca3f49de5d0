"""Renders an outlet's documents: article pages (per-outlet Jinja templates), RSS feeds,
sitemaps and sitemap indexes, Google News sitemaps, WordPress REST API pages, section
listings and robots.txt."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crawler.testweb.fixtures import FixtureArticle, Outlet

TEMPLATES = Path(__file__).with_name("templates")
MENU = ["Nacionales", "Judicial", "Política", "Economía", "Internacionales", "Deportes", "Opinión"]
CHANGE_NOTE = (
    "Actualización: esta nota fue ampliada con nueva información proporcionada por las autoridades "
    "después de su publicación original."
)


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )


def render(template: str, **context: Any) -> bytes:
    return _env().get_template(template).render(**context).encode("utf-8")


def post_id(article: FixtureArticle) -> int:
    """A stable WordPress-style numeric id derived from the URL."""
    return 40000 + zlib.crc32(article.url.encode()) % 50000


def article_page(
    outlet: Outlet, article: FixtureArticle, changed_at: datetime | None, external_links: list[str]
) -> bytes:
    """The article's HTML; a changed article gets an extra paragraph and a newer modified date."""
    paragraphs = article.paragraphs + ([CHANGE_NOTE] if changed_at else [])
    modified = changed_at or article.modified
    related = [a for a in outlet.articles if a is not article][:3]
    jsonld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.lead,
        "datePublished": article.published.isoformat(),
        "dateModified": (modified or article.published).isoformat(),
        "articleSection": article.section,
        "keywords": ", ".join(article.tags),
        "author": [{"@type": "Person", "name": name} for name in article.authors],
        "publisher": {"@type": "Organization", "name": outlet.source.name},
        "mainEntityOfPage": {"@type": "WebPage", "@id": article.url},
    }
    return render(
        f"{outlet.template}.html.jinja",
        a=article,
        outlet=outlet,
        theme=outlet.theme,
        post_id=post_id(article),
        paragraphs=paragraphs,
        modified=modified,
        related=related,
        external=external_links,
        menu=MENU,
        jsonld=jsonld,
    )


def _newest_first(articles: list[FixtureArticle]) -> list[FixtureArticle]:
    return sorted(articles, key=lambda a: a.published, reverse=True)


def feed(outlet: Outlet, extra_urls: list[str], scheme: str = "https") -> bytes:
    items = [
        {
            "title": a.title,
            "url": a.url.replace("https://", f"{scheme}://", 1),
            "pubdate": format_datetime(a.published),
            "authors": a.authors,
            "tags": a.tags,
            "lead": a.lead,
        }
        for a in _newest_first(outlet.articles)
    ]
    items += [{"title": "Nota", "url": url, "pubdate": "", "authors": [], "tags": [], "lead": ""} for url in extra_urls]
    return render("rss.xml.jinja", outlet=outlet, items=items)


def sitemap(outlet: Outlet, articles: list[FixtureArticle], extra_urls: list[str], news: bool) -> bytes:
    entries = [
        {
            "url": a.url,
            "lastmod": a.last_modified.isoformat(),
            "published": a.published.isoformat(),
            "title": a.title,
            "keywords": ", ".join(a.tags),
        }
        for a in _newest_first(articles)
    ]
    entries += [{"url": url, "lastmod": "", "published": "", "title": "", "keywords": ""} for url in extra_urls]
    return render("sitemap.xml.jinja", outlet=outlet, entries=entries, news=news)


def text_sitemap(articles: list[FixtureArticle], extra_urls: list[str]) -> bytes:
    """A plain-text sitemap: one URL a line."""
    return "".join(f"{url}\n" for url in [*(a.url for a in _newest_first(articles)), *extra_urls]).encode("utf-8")


def months(outlet: Outlet) -> dict[str, list[FixtureArticle]]:
    """Articles per ``YYYY-MM`` of publication: one child sitemap per month, as news sites do."""
    ordered = sorted(outlet.articles, key=lambda a: a.published)
    return {key: list(group) for key, group in groupby(ordered, key=lambda a: f"{a.published:%Y-%m}")}


def sitemap_index(outlet: Outlet, child_url: str) -> bytes:
    children = [
        {"url": child_url.format(month=month), "lastmod": max(a.last_modified for a in items).isoformat()}
        for month, items in sorted(months(outlet).items(), reverse=True)
    ]
    return render("sitemapindex.xml.jinja", children=children)


def wp_posts(articles: list[FixtureArticle]) -> bytes:
    return json.dumps(
        [
            {
                "id": post_id(a),
                "date": a.published.replace(tzinfo=None).isoformat(),
                "date_gmt": _gmt(a.published),
                "modified_gmt": _gmt(a.last_modified),
                "link": a.url,
                "title": {"rendered": a.title},
            }
            for a in articles
        ],
        ensure_ascii=False,
    ).encode("utf-8")


def _gmt(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()  # naive UTC, as WordPress writes it


def listing(
    outlet: Outlet, title: str, links: list[Any], page: int, prev_url: str | None, next_url: str | None
) -> bytes:
    return render(
        "listing.html.jinja",
        outlet=outlet,
        title=title,
        articles=links,
        page=page,
        prev_url=prev_url,
        next_url=next_url,
    )


def robots(outlet: Outlet, disallow: list[str]) -> bytes:
    lines = ["User-agent: *", "Disallow: /wp-admin/", "Allow: /wp-admin/admin-ajax.php"]
    lines += [f"Disallow: {path}" for path in disallow]
    lines += [f"Sitemap: {d.url}" for d in outlet.source.discovery if d.kind in ("sitemap", "news_sitemap")]
    return ("\n".join(lines) + "\n").encode()
