"""The registry, the discovery parsers and the spider's callbacks, without a search engine."""

from __future__ import annotations

import gzip
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse

from crawler.discovery import MAX_SITEMAP_URLS, parse_feed, parse_listing, parse_sitemap, parse_wp_posts
from crawler.middlewares import retry_after_seconds
from crawler.records import RunStats, error_kind
from crawler.registry import RegistryError, load_registry
from crawler.spiders.news import CrawlPlan, NewsSpider
from crawler.testweb import documents
from crawler.testweb.fixtures import Fixtures
from crawler.testweb.server import TestWeb
from vigia.extract.inputs import TooLarge
from vigia.models import FetchedPage, doc_id

MAX_BYTES = 1_000_000
IDS = [
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
    "pnc",
    "fgr",
    "cronio",
    "diario1",
    "ultimahora",
    "canal12",
    "diariolahuella",
    "radioyskl",
    "voces",
    "resistencia",
    "ennews",
    "dinero",
]


@pytest.fixture(scope="module")
def fixtures() -> Fixtures:
    return Fixtures()


def test_registry_lists_every_outlet_with_discovery_and_patterns() -> None:
    registry = load_registry()
    assert registry.ids == IDS
    for source in registry.sources:
        assert source.owns(source.homepage)
        assert {d.status for d in source.discovery} <= {"verified", "assumed"}


def test_registry_errors_name_the_entry_and_the_problem(tmp_path: Path) -> None:
    data = yaml.safe_load(Path("crawler/sources.yaml").read_text())
    data["sources"][2]["article"]["allow"] = ["(unclosed"]
    broken = tmp_path / "sources.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError, match=r"source 'elsalvador_com'.*not a valid regular expression"):
        load_registry(broken)
    data["sources"][2]["article"]["allow"] = [".*"]
    data["sources"][3]["discovery"][0]["url"] = "https://elsewhere.example/feed"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError, match="elsewhere.example/feed is not on the source's domains"):
        load_registry(broken)


def test_every_test_web_article_url_matches_its_source_patterns(fixtures: Fixtures) -> None:
    assert fixtures.articles, "the test web has no content"
    for article in fixtures.articles + fixtures.real_pages:
        source = fixtures.registry.get(article.source)
        assert source.article_match(article.url), f"{article.url} does not match {source.id}'s allow patterns"


def test_real_publisher_pages_are_served_from_shared_when_present(fixtures: Fixtures) -> None:
    if not fixtures.shared_html.is_dir():
        pytest.skip(f"{fixtures.shared_html} is absent")
    assert {p.source for p in fixtures.real_pages} == {"elfaro", "laprensagrafica"}


def test_google_news_sitemap_keeps_date_title_and_keywords(fixtures: Fixtures) -> None:
    outlet = fixtures.outlets["laprensagrafica"]
    parsed = parse_sitemap(documents.sitemap(outlet, outlet.articles, [], news=True), MAX_BYTES)
    newest = max(outlet.articles, key=lambda a: a.published)
    link = next(link for link in parsed.links if link.url == newest.url)
    assert link.published == newest.published
    assert link.title == newest.title
    assert list(link.keywords) == newest.tags


def test_sitemap_index_feed_and_wordpress_api(fixtures: Fixtures) -> None:
    outlet = fixtures.outlets["elsalvador_com"]
    index = parse_sitemap(documents.sitemap_index(outlet, outlet.base + "/sitemap-posts-{month}.xml"), MAX_BYTES)
    assert not index.links and {c.url.rsplit("-", 2)[-2] for c in index.children} == {"2026"}
    feed = parse_feed(documents.feed(outlet, []), outlet.base + "/feed/")
    assert {link.url for link in feed} == {a.url for a in outlet.articles}
    assert all(link.published and link.published.tzinfo for link in feed)
    posts = parse_wp_posts(documents.wp_posts(outlet.articles))
    assert [p.published for p in posts] == [a.published for a in outlet.articles]


def test_listing_finds_articles_and_the_next_page(fixtures: Fixtures) -> None:
    web = TestWeb(fixtures)
    reply = web.handle("www.diariocolatino.com", "/category/nacionales/", "https", None)
    source = fixtures.registry.get("diariocolatino")
    links, next_url = parse_listing(
        reply.body, "https://www.diariocolatino.com/category/nacionales/", lambda u: source.article_match(u) is not None
    )
    assert len(links) == 2 and next_url == "https://www.diariocolatino.com/category/nacionales/page/2/"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Sat, 28 Nov 2026 12:00:30 GMT", now) == 30
    assert retry_after_seconds("soon") is None


def test_news_sitemap_fields_reach_the_fetched_item(fixtures: Fixtures) -> None:
    """The spider carries the Google News date/title/keywords from the sitemap to the item."""
    registry = fixtures.registry
    spider = NewsSpider(
        CrawlPlan(), registry, lookup=lambda urls: {}, stats=RunStats(mode="incremental"), article_pipeline=None
    )
    web = TestWeb(fixtures)
    sitemap_url = next(d.url for d in registry.get("laprensagrafica").discovery if d.kind == "news_sitemap")
    meta = {"source": "laprensagrafica", "discovery": "news_sitemap", "page": 1, "discovery_url": sitemap_url}
    body = web.handle("www.laprensagrafica.com", urlsplit(sitemap_url).path, "https", None).body
    requests = list(spider.parse_sitemap(XmlResponse(sitemap_url, body=body, request=Request(sitemap_url, meta=meta))))
    article = fixtures.outlets["laprensagrafica"].articles[0]
    request = next(r for r in requests if r.url == article.url)
    page_body = web.handle("www.laprensagrafica.com", article.path, "https", None).body
    items = list(spider.parse_article(HtmlResponse(article.url, body=page_body, request=request)))
    assert len(items) == 1 and isinstance(items[0], FetchedPage)
    link = items[0].link
    assert (link.published, link.title, list(link.keywords)) == (article.published, article.title, article.tags)
    assert items[0].section == article.section


def test_links_on_alias_hosts_are_fetched_once_on_the_canonical_host(fixtures: Fixtures) -> None:
    """A feed listing one article under its alias host and its own, and another only under
    the alias: one request each, both on the canonical host."""
    registry = fixtures.registry
    source = registry.get("diariocolatino")
    spider = NewsSpider(
        CrawlPlan(), registry, lookup=lambda urls: {}, stats=RunStats(mode="incremental"), article_pipeline=None
    )
    outlet = fixtures.outlets["diariocolatino"]
    first, second = outlet.articles[:2]
    on_alias = [a.url.replace("https://www.diariocolatino.com/", "https://diariolatino.net/") for a in (first, second)]
    assert source.fetch_url(on_alias[0]) == "https://diariocolatino.com/" + first.path.strip("/")
    assert source.fetch_url(first.url) == first.url  # the canonical host's URL is requested as found
    body = documents.feed(replace(outlet, articles=[first]), extra_urls=on_alias)
    feed_url = "https://www.diariocolatino.com/feed/"
    meta = {"source": source.id, "discovery": "feed", "page": 1, "discovery_url": feed_url}
    requests = list(spider.parse_feed(XmlResponse(feed_url, body=body, request=Request(feed_url, meta=meta))))
    assert [urlsplit(r.url).hostname for r in requests] == ["www.diariocolatino.com", "diariocolatino.com"]
    assert {doc_id(r.url) for r in requests} == {doc_id(first.url), doc_id(second.url)}


def test_text_sitemap_of_the_test_web_gives_every_article(fixtures: Fixtures) -> None:
    """La Prensa Gráfica's plain-text sitemap (one URL a line), served by the test web: the
    spider requests each of its articles."""
    registry = fixtures.registry
    spider = NewsSpider(
        CrawlPlan(), registry, lookup=lambda urls: {}, stats=RunStats(mode="incremental"), article_pipeline=None
    )
    sitemap_url = next(d.url for d in registry.get("laprensagrafica").discovery if d.url.endswith(".txt"))
    reply = TestWeb(fixtures).handle("www.laprensagrafica.com", urlsplit(sitemap_url).path, "https", None)
    assert reply.status == 200 and reply.content_type.startswith("text/plain")
    meta = {"source": "laprensagrafica", "discovery": "sitemap", "page": 1, "discovery_url": sitemap_url}
    response = TextResponse(sitemap_url, body=reply.body, request=Request(sitemap_url, meta=meta))
    requested = {r.url for r in spider.parse_sitemap(response)}
    assert requested == {a.url for a in fixtures.outlets["laprensagrafica"].articles}


def test_text_sitemap_keeps_only_http_urls_up_to_the_protocol_limit() -> None:
    article = "https://www.laprensagrafica.com/elsalvador/Nota-de-prueba-20261104-0001.html"
    hostile = (
        "\r\n".join(
            [
                "\ufeff" + article,
                "",
                "# comentario",
                "javascript:alert(1)",
                "ftp://www.laprensagrafica.com/archivo.txt",
                "https:///sin-host",
                f"{article} {article}",
                "https://www.laprensagrafica.com/" + "a" * 3000,
                "  HTTP://www.laprensagrafica.com/elsalvador/Otra-nota-20261104-0002.html  ",
                "\x00\xff<script>",
            ]
        ).encode()
        + b"\n\xff\xfe not utf-8"
    )
    assert [link.url for link in parse_sitemap(hostile, MAX_BYTES).links] == [
        article,
        "HTTP://www.laprensagrafica.com/elsalvador/Otra-nota-20261104-0002.html",
    ]
    many = "".join(f"https://www.laprensagrafica.com/n-{i}.html\n" for i in range(MAX_SITEMAP_URLS + 10))
    assert len(parse_sitemap(gzip.compress(many.encode()), 4 * MAX_BYTES).links) == MAX_SITEMAP_URLS
    with pytest.raises(TooLarge):
        parse_sitemap(gzip.compress(many.encode()), MAX_BYTES)


def gzip_bomb(expanded_bytes: int) -> bytes:
    """A real bomb: a sitemap head, then zeros; ``gzip -9`` shrinks it about a thousandfold."""
    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    return gzip.compress(head + bytes(expanded_bytes), compresslevel=9)


def test_a_gzip_sitemap_bomb_is_refused_with_bounded_memory() -> None:
    bomb = gzip_bomb(400 * MAX_BYTES)  # 400 MB expanded
    assert len(bomb) < MAX_BYTES  # under the download limit: only the expansion is too large
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="more than the 1000000-byte page limit"):
            parse_sitemap(bomb, MAX_BYTES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_BYTES, f"decompression used {peak} bytes"
    small = gzip.compress(documents.sitemap_index(Fixtures().outlets["elfaro"], "https://elfaro.net/s-{month}.xml"))
    assert parse_sitemap(small, MAX_BYTES).children  # a normal .gz sitemap still parses


def test_the_spider_skips_a_sitemap_bomb_and_records_too_large(fixtures: Fixtures) -> None:
    stats = RunStats(mode="incremental")
    spider = NewsSpider(
        CrawlPlan(), fixtures.registry, lambda urls: {}, stats, article_pipeline=None, max_response_bytes=MAX_BYTES
    )
    url = "https://www.laprensagrafica.com/sitemap-news.xml.gz"
    meta = {"source": "laprensagrafica", "discovery": "sitemap", "page": 1, "discovery_url": url}
    response = XmlResponse(url, body=gzip_bomb(50 * MAX_BYTES), request=Request(url, meta=meta))
    assert list(spider.parse_sitemap(response)) == []
    assert stats.errors["laprensagrafica"] == {"too_large": 1}


def test_a_content_encoding_bomb_counts_as_too_large() -> None:
    """Scrapy's HttpCompressionMiddleware caps Content-Encoding at DOWNLOAD_MAXSIZE; its refusal is too_large."""
    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler
    from twisted.python.failure import Failure

    middleware = HttpCompressionMiddleware.from_crawler(get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": MAX_BYTES}))
    url = "https://elfaro.net/"
    response = Response(url, body=gzip.compress(bytes(50 * MAX_BYTES)), headers={"Content-Encoding": "gzip"})
    with pytest.raises(IgnoreRequest) as refused:
        middleware.process_response(Request(url), response)
    assert error_kind(Failure(refused.value)) == "too_large"
