"""The replayable test web: one local HTTP server on 127.0.0.1 that answers for every outlet of
the registry, chosen by the ``Host`` header (the crawler's test-web download handler sends each
request here with its real host). It logs every request, so tests can count what the crawler
fetched, and it can inject faults (429 + Retry-After, 500 then 200, oversized and non-HTML
responses, a robots.txt disallow, off-registry links, an endless pagination, changed texts)."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from w3lib.url import safe_url_string

from crawler.discovery import parse_date
from crawler.testweb import documents
from crawler.testweb.fixtures import FixtureArticle, Fixtures, Outlet

PAGE_SIZE = 2  # articles per listing page: several pages per outlet
WP_PER_PAGE = 10

# Fault-injection URLs (served only with faults on); each sits where the crawler will meet it.
ROBOTS_DISALLOWED = "https://elfaro.net/es/202611/privado/99999/borrador-no-publicar.htm"
OVERSIZED = "https://www.lapagina.com.sv/nacionales/edicion-impresa-completa/"
NOT_HTML = "https://focostv.com/informe-anual-2026/"
OFF_REGISTRY = "https://noticias-externas.example/elsalvador/nota-copiada/"
TRAP_SOURCE = "diarioelmundo"  # its section listing never ends
RETRY_AFTER_SOURCE = "diariocolatino"  # its newest article answers 429 + Retry-After once
FLAKY_SOURCE = "contrapunto"  # its newest article answers 500 once
HTTP_FEED_SOURCE = "gatoencerrado"  # its feed links use http://, which redirects to https://


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    at: float
    host: str
    path: str
    status: int
    conditional: bool

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


class TestWeb:
    """Routes (host, path) to documents; holds the request log and the fault state."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        fixtures: Fixtures | None = None,
        faults: bool = False,
        oversize_bytes: int = 6 * 1024 * 1024,
        retry_after_s: int = 2,
        delay_s: float = 0.0,
    ) -> None:
        self.fixtures = fixtures or Fixtures()
        self.faults = faults
        self.oversize_bytes = oversize_bytes
        self.retry_after_s = retry_after_s
        self.delay_s = delay_s
        self.requests: list[RequestRecord] = []
        self.changed: dict[str, datetime] = {}
        self._failed_once: set[str] = set()
        self._lock = threading.Lock()
        self._articles = {a.url: a for a in self.fixtures.articles}
        self._real = {p.url: p for p in self.fixtures.real_pages}

    # -- test controls -------------------------------------------------------------------
    def change(self, url: str) -> None:
        """Give an article a new text (an added paragraph) and a new modified time."""
        self.changed[url] = datetime.now(UTC).replace(microsecond=0)

    def fetched(self, status: int | None = 200) -> list[str]:
        """URLs requested so far (optionally only those answered with ``status``)."""
        return [r.url for r in self.requests if status is None or r.status == status]

    @property
    def article_urls(self) -> list[str]:
        """Every article URL, percent-encoded as a crawler requests it."""
        return [safe_url_string(url) for url in [*self._articles, *self._real]]

    def newest(self, source: str) -> FixtureArticle:
        return max(self.fixtures.outlets[source].articles, key=lambda a: a.published)

    # -- routing -------------------------------------------------------------------------
    def handle(self, host: str, target: str, scheme: str, if_modified_since: str | None) -> Reply:
        host = host.split(":")[0].lower()
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        reply = self._route(host, path, query, scheme, if_modified_since)
        with self._lock:
            self.requests.append(RequestRecord(time.time(), host, target, reply.status, if_modified_since is not None))
        return reply

    def _route(self, host: str, path: str, query: dict[str, list[str]], scheme: str, ims: str | None) -> Reply:
        outlet = self.fixtures.outlet_for_host(host)
        if outlet is None:
            return Reply(404, b"unknown host")
        url = f"https://{host}{path}"
        if scheme == "http":
            return Reply(301, headers={"Location": url + (f"?{_qs(query)}" if query else "")})
        if path == "/robots.txt":
            return Reply(200, documents.robots(outlet, self._disallow(outlet)), "text/plain")
        for discovery in outlet.source.discovery:
            reply = self._discovery(outlet, discovery.kind, urlsplit(discovery.url).path, path, query)
            if reply:
                return reply
        if url in self._articles:
            return self._article(outlet, self._articles[url], ims)
        if url in self._real:
            return Reply(200, self._real[url].file.read_bytes())
        return self._fault(url) or Reply(
            404, "<html><body><h1>404</h1><p>Página no encontrada</p></body></html>".encode()
        )

    def _discovery(self, outlet: Outlet, kind: str, base: str, path: str, query: dict[str, list[str]]) -> Reply | None:
        """The discovery document at ``path`` when it belongs to the discovery entry at ``base``."""
        if kind == "feed" and path == base:
            return Reply(
                200,
                documents.feed(outlet, self._extra(outlet, "feed"), self._feed_scheme(outlet)),
                "application/rss+xml; charset=utf-8",
            )
        if kind == "news_sitemap" and path == base:
            return Reply(
                200,
                documents.sitemap(outlet, outlet.articles, self._extra(outlet, "news_sitemap"), news=True),
                "application/xml",
            )
        if kind == "sitemap":
            return self._sitemap(outlet, base, path)
        if kind == "wp_api" and path == base:
            return self._wp_api(outlet, query)
        if kind == "listing":
            return self._listing(outlet, base, path, query)
        return None

    def _sitemap(self, outlet: Outlet, base: str, path: str) -> Reply | None:
        if base.endswith(".txt"):
            text = documents.text_sitemap(outlet.articles, self._extra(outlet, "sitemap"))
            return Reply(200, text, "text/plain; charset=utf-8") if path == base else None
        stem = base.rsplit("/", 1)[0] + "/sitemap-posts-"
        is_index = "index" in base or "wp-sitemap" in base
        if path == base and is_index:
            return Reply(200, documents.sitemap_index(outlet, f"{outlet.base}{stem}{{month}}.xml"), "application/xml")
        if path == base:
            return Reply(
                200,
                documents.sitemap(outlet, outlet.articles, self._extra(outlet, "sitemap"), news=False),
                "application/xml",
            )
        if is_index and path.startswith(stem) and path.endswith(".xml"):
            month = path[len(stem) : -len(".xml")]
            articles = documents.months(outlet).get(month)
            if articles is not None:
                return Reply(
                    200,
                    documents.sitemap(outlet, articles, self._extra(outlet, "sitemap"), news=False),
                    "application/xml",
                )
        return None

    def _wp_api(self, outlet: Outlet, query: dict[str, list[str]]) -> Reply:
        after = parse_date(query.get("after", [""])[0])
        before = parse_date(query.get("before", [""])[0])
        per_page = int(query.get("per_page", [WP_PER_PAGE])[0])
        page = int(query.get("page", ["1"])[0])
        posts = [
            a
            for a in sorted(outlet.articles, key=lambda a: a.published, reverse=True)
            if (after is None or a.published > after) and (before is None or a.published < before)
        ]
        pages = max(1, -(-len(posts) // per_page))
        if page > pages:
            return Reply(400, b'{"code":"rest_post_invalid_page_number"}', "application/json")
        chunk = posts[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages)}
        return Reply(200, documents.wp_posts(chunk), "application/json; charset=UTF-8", headers)

    def _listing(self, outlet: Outlet, base: str, path: str, query: dict[str, list[str]]) -> Reply | None:
        wordpress = outlet.source.platform.name == "wordpress"
        if path == base:
            page = int(query.get("page", ["1"])[0]) if not wordpress else 1
        elif wordpress and path.startswith(base + "page/") and path.rstrip("/").rsplit("/", 1)[-1].isdigit():
            page = int(path.rstrip("/").rsplit("/", 1)[-1])
        else:
            return None
        items = list(outlet.real_pages) + sorted(outlet.articles, key=lambda a: a.published, reverse=True)
        pages = max(1, -(-len(items) // PAGE_SIZE))
        endless = self.faults and outlet.source.id == TRAP_SOURCE
        if page > pages and not endless:
            return Reply(404, b"no such page")

        def page_url(n: int) -> str:
            return f"{outlet.base}{base}page/{n}/" if wordpress else f"{outlet.base}{base}?page={n}"

        # Past the end, the trap keeps serving pages that cycle through the articles again.
        shown = [
            items[i % len(items)]
            for i in range(
                (page - 1) * PAGE_SIZE, min(page * PAGE_SIZE, len(items)) if not endless else page * PAGE_SIZE
            )
        ]
        links = [
            _ListingLink(i.url, getattr(i, "title", "Nota"), getattr(i, "lead", ""), getattr(i, "published", None))
            for i in shown
        ]
        prev_url = page_url(page - 1) if page > 1 else None
        next_url = page_url(page + 1) if page < pages or endless else None
        return Reply(200, documents.listing(outlet, outlet.source.name, links, page, prev_url, next_url))

    def _article(self, outlet: Outlet, article: FixtureArticle, ims: str | None) -> Reply:
        if self.faults and self._fail_once(article, RETRY_AFTER_SOURCE):
            return Reply(429, b"Too Many Requests", "text/plain", {"Retry-After": str(self.retry_after_s)})
        if self.faults and self._fail_once(article, FLAKY_SOURCE):
            return Reply(500, b"Internal Server Error", "text/plain")
        changed_at = self.changed.get(article.url)
        last_modified = changed_at or article.last_modified
        if ims and _not_modified_since(last_modified, ims):
            return Reply(304)
        if self.delay_s:
            time.sleep(self.delay_s)
        external = [OFF_REGISTRY] if self.faults else []
        body = documents.article_page(outlet, article, changed_at, external)
        return Reply(200, body, headers={"Last-Modified": format_datetime(last_modified.astimezone(UTC), usegmt=True)})

    def _fail_once(self, article: FixtureArticle, source: str) -> bool:
        if article.source != source or article is not self.newest(source):
            return False
        with self._lock:
            if article.url in self._failed_once:
                return False
            self._failed_once.add(article.url)
            return True

    def _fault(self, url: str) -> Reply | None:
        if not self.faults:
            return None
        if url == OVERSIZED:
            return Reply(200, b"<html><body>" + b"x" * self.oversize_bytes + b"</body></html>")
        if url == NOT_HTML:
            return Reply(200, b"%PDF-1.4 fixture", "application/pdf")
        if url == ROBOTS_DISALLOWED:
            return Reply(200, b"<html><body><h1>Borrador</h1></body></html>")
        return None

    # -- fault placement -----------------------------------------------------------------
    def _extra(self, outlet: Outlet, kind: str) -> list[str]:
        """Fault URLs listed in this outlet's discovery document of ``kind``."""
        if not self.faults:
            return []
        placed = {
            ("elfaro", "sitemap"): [ROBOTS_DISALLOWED],
            ("lapagina", "news_sitemap"): [OVERSIZED],
            ("focos", "feed"): [NOT_HTML],
            ("elsalvadortimes", "feed"): [OFF_REGISTRY],
        }
        return placed.get((outlet.source.id, kind), [])

    def _disallow(self, outlet: Outlet) -> list[str]:
        return ["/es/202611/privado/"] if self.faults and outlet.source.id == "elfaro" else []

    @staticmethod
    def _feed_scheme(outlet: Outlet) -> str:
        return "http" if outlet.source.id == HTTP_FEED_SOURCE else "https"


@dataclass(frozen=True)
class _ListingLink:
    url: str
    title: str
    lead: str
    published: datetime | None


def _qs(query: dict[str, list[str]]) -> str:
    return "&".join(f"{k}={v}" for k, values in query.items() for v in values)


def _not_modified_since(last_modified: datetime, header: str) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return last_modified.replace(microsecond=0) <= since


class _Handler(BaseHTTPRequestHandler):
    web: TestWeb
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        reply = self.web.handle(
            self.headers.get("Host", ""),
            self.path,
            self.headers.get("X-Forwarded-Proto", "https"),
            self.headers.get("If-Modified-Since"),
        )
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.status != 304:
            try:
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):  # the crawler dropped an oversized reply
                pass

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A crawler that hangs up (an oversized reply it drops) is expected, not an error."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class TestWebServer:
    """Runs a :class:`TestWeb` on 127.0.0.1 in a background thread (``with TestWebServer() as s``)."""

    __test__ = False

    def __init__(self, web: TestWeb | None = None, port: int = 0) -> None:
        self.web = web or TestWeb()
        handler = type("Handler", (_Handler,), {"web": self.web})
        self._server = _Server(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="testweb", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> TestWebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
