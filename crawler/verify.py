"""`vigia sources verify`: fetch each outlet's discovery URLs once, politely, and report which
answer, how many article links each yields and which article patterns they match, so that an
operator can confirm the registry's ``assumed`` facts in minutes on a machine that reaches the
live sites.

Politeness: robots.txt is read once per host and obeyed, every request carries the crawler's
User-Agent, requests go one at a time with the crawl's per-domain delay between two requests to
one host, and no link is followed except a sitemap index's newest child sitemap (a listing is
reported with its next page). With ``crawl.testweb_url`` set (tests, the demo) every host is
served by the local test web, as in the crawler, and nothing leaves the machine. Responses are hostile input:
they are size-capped and a document that does not parse is reported, never raised.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from lxml import etree
from rich.table import Table
from rich.text import Text

from crawler.discovery import parse_feed, parse_listing, parse_sitemap, parse_wp_posts
from crawler.registry import Discovery, Registry, Source
from vigia.config import CrawlSettings
from vigia.models import Link

MAX_REDIRECTS = 5
Outcome = Literal["ok", "http_error", "unreachable", "robots", "unparseable", "empty"]


@dataclass
class DiscoveryReport:
    """What one discovery URL answered and what its links are."""

    source: str
    kind: str
    url: str
    status: str  # the registry's verified/assumed, to compare with the outcome
    outcome: Outcome = "ok"
    http_status: int | None = None
    final_url: str | None = None
    detail: str = ""
    links: int = 0
    articles: int = 0
    patterns: dict[str, int] = field(default_factory=dict)
    not_articles: list[str] = field(default_factory=list)  # a few examples, to help fix patterns

    @property
    def confirms(self) -> bool:
        """True when the URL answered with at least one article link: enough to mark it verified."""
        return self.outcome == "ok" and self.articles > 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by :class:`Fetcher` itself, so that each hop goes through the
    test-web mapping and robots.txt too."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class _Response:
    status: int
    url: str
    body: bytes


class Fetcher:
    """One request at a time, robots.txt obeyed, the crawler's User-Agent, a per-host delay."""

    def __init__(self, crawl: CrawlSettings) -> None:
        self.user_agent = crawl.user_agent_header
        self.timeout_s = crawl.download_timeout_s
        self.max_bytes = crawl.max_response_bytes
        self.delay_s = crawl.download_delay_s if crawl.polite else 0.0
        self.testweb = urlsplit(crawl.testweb_url) if crawl.testweb_url else None
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._robots: dict[str, RobotFileParser] = {}
        self._last: dict[str, float] = {}
        self.requests: list[str] = []  # every URL requested, robots.txt included

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            rules = RobotFileParser()
            try:
                reply = self._get(origin + "/robots.txt")
            except OSError:
                reply = None
            if reply is not None and reply.status == 200:
                rules.parse(reply.body.decode("utf-8", "replace").splitlines())
            elif reply is not None and reply.status in (401, 403):
                rules.disallow_all = True  # as Scrapy does not, but a site that hides its rules wants no bots
            else:
                rules.allow_all = True
            self._robots[origin] = rules
        return self._robots[origin].can_fetch(self.user_agent, url)

    def fetch(self, url: str) -> _Response:
        """GET ``url`` following up to five redirects; raises PermissionError when robots.txt
        forbids a hop, OSError when the host does not answer."""
        for _ in range(MAX_REDIRECTS + 1):
            if not self.allowed(url):
                raise PermissionError(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
            reply = self._get(url)
            if reply.status not in (301, 302, 303, 307, 308):
                return reply
            url = reply.url
        raise OSError(f"more than {MAX_REDIRECTS} redirects from {url}")

    def _get(self, url: str) -> _Response:
        parts = urlsplit(url)
        host = parts.hostname or ""
        wait = self._last.get(host, 0.0) + self.delay_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        headers = {"User-Agent": self.user_agent, "Accept": "*/*"}
        target = url
        if self.testweb is not None:  # the same mapping as crawler.middlewares.TestWebDownloadHandler
            target = urlunsplit(("http", self.testweb.netloc, parts.path or "/", parts.query, ""))
            headers |= {"Host": parts.netloc, "X-Forwarded-Proto": parts.scheme}
        self.requests.append(url)
        try:
            with self._opener.open(urllib.request.Request(target, headers=headers), timeout=self.timeout_s) as reply:
                body = reply.read(self.max_bytes + 1)
                status = reply.status
                location = reply.headers.get("Location")
        except urllib.error.HTTPError as exc:  # 3xx (not followed here), 4xx, 5xx
            body, status, location = exc.read(self.max_bytes + 1), exc.code, exc.headers.get("Location")
        finally:
            self._last[host] = time.monotonic()
        if len(body) > self.max_bytes:
            raise OSError(f"{url} is larger than {self.max_bytes} bytes (crawl.max_response_bytes)")
        return _Response(status, urljoin(url, location) if location else url, body)


def verify_sources(
    registry: Registry, crawl: CrawlSettings, source_ids: list[str] | None = None
) -> list[DiscoveryReport]:
    """One report per discovery URL of the selected outlets (all when ``source_ids`` is empty)."""
    fetcher = Fetcher(crawl)
    return [verify_discovery(fetcher, source, d) for source in registry.select(source_ids) for d in source.discovery]


def verify_discovery(fetcher: Fetcher, source: Source, discovery: Discovery) -> DiscoveryReport:
    report = DiscoveryReport(source.id, discovery.kind, discovery.url, discovery.status)
    try:
        reply = fetcher.fetch(discovery.url)
    except PermissionError as exc:
        report.outcome, report.detail = "robots", str(exc)
        return report
    except (OSError, ValueError) as exc:
        report.outcome, report.detail = "unreachable", f"{type(exc).__name__}: {exc}"
        return report
    report.http_status, report.final_url = reply.status, reply.url
    if reply.status != 200:
        report.outcome, report.detail = "http_error", f"HTTP {reply.status}"
        return report
    try:
        links, detail = _links(discovery.kind, reply, source, fetcher)
    except PermissionError as exc:  # a child sitemap that robots.txt forbids
        report.outcome, report.detail = "robots", str(exc)
        return report
    except OSError as exc:
        report.outcome, report.detail = "unreachable", f"{type(exc).__name__}: {exc}"
        return report
    except (ValueError, KeyError, TypeError, etree.LxmlError) as exc:
        report.outcome, report.detail = "unparseable", f"not a {discovery.kind} document: {type(exc).__name__}: {exc}"
        return report
    patterns: Counter[str] = Counter()
    for link in links:
        match = source.article_match(link.url)
        if match:
            patterns[match.re.pattern] += 1
        elif len(report.not_articles) < 5 and source.owns(link.url):
            report.not_articles.append(link.url)
    report.links, report.articles, report.patterns = len(links), sum(patterns.values()), dict(patterns)
    report.detail = detail
    if not links and not detail:
        report.outcome, report.detail = "empty", "answered, but lists no links"
    return report


def _links(kind: str, reply: _Response, source: Source, fetcher: Fetcher) -> tuple[list[Link], str]:
    """The links of a discovery document, and a note on what else it holds (a sitemap index's
    newest child sitemap is fetched with ``fetcher``: the only link verify follows)."""
    if kind == "feed":
        links = parse_feed(reply.body, reply.url)
        return links, "" if links or reply.body.lstrip()[:1] == b"<" else "not XML"
    if kind in ("sitemap", "news_sitemap"):
        sitemap = parse_sitemap(reply.body, fetcher.max_bytes)
        children = [c for c in sitemap.children if source.owns(c.url)]
        if sitemap.links or not children:
            return sitemap.links, ""
        newest = max(children, key=lambda c: (c.modified is not None, c.modified or 0, children.index(c)))
        child = fetcher.fetch(newest.url)  # one child, the newest: enough to see the article URLs
        if child.status != 200:
            return (
                [],
                f"sitemap index of {len(children)} sitemaps; its newest, {newest.url}, answered HTTP {child.status}",
            )
        return parse_sitemap(
            child.body, fetcher.max_bytes
        ).links, f"sitemap index of {len(children)} sitemaps; links from the newest, {newest.url}"
    if kind == "wp_api":
        return parse_wp_posts(reply.body), ""
    links, next_url = parse_listing(reply.body, reply.url, source.owns)
    return links, f"next page {next_url}" if next_url else ""


def report_table(reports: list[DiscoveryReport]) -> Table:
    """The reports as a terminal table: an answer in green confirms the URL (it yields articles)."""
    table = Table(title="discovery URLs")
    for column in ("source", "kind", "registry", "answer", "links", "articles", "url / detail"):
        table.add_column(column, justify="right" if column in ("links", "articles") else "left")
    for r in reports:
        answer = Text(r.outcome, style="green" if r.confirms else "red")
        detail = "; ".join([f"{r.url} {r.detail}".strip(), *(f"{n} × {p}" for p, n in r.patterns.items())])
        # URLs and regular expressions are never read as rich markup.
        table.add_row(r.source, r.kind, r.status, answer, str(r.links), str(r.articles), Text(detail))
    return table
