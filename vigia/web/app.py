"""The Starlette application: pages, downloads and the Atom feed of any search.

Handlers are plain functions (Starlette runs them in its thread pool, since the store is
synchronous). A :class:`~vigia.errors.VigiaError` becomes a Spanish error page with its message
(400 for bad input, 503 when the engine is down); anything else is a 500 page, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.records import status_report
from crawler.registry import load_registry
from vigia.config import Settings
from vigia.errors import InputError, StoreError, VigiaError
from vigia.models import LOCAL_TZ, doc_id
from vigia.search import export, results
from vigia.search.labels import label, labels
from vigia.search.plot import trend_svg
from vigia.search.query import Query
from vigia.search.trends import trends
from vigia.store import Store
from vigia.web.feed import atom_feed

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
FEED_ENTRIES = 50
SOURCES_TTL_S = 60.0
DOWNLOADS = ("csv", "jsonl")
SECURITY_HEADERS = {
    # No script at all: the page works with forms and links only.
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def local(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """An instant in El Salvador time, as people there read it."""
    if not value:
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(LOCAL_TZ).strftime(fmt)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vigia.web", "templates"),
        autoescape=True,  # crawled text is hostile: every value is escaped, in every template
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local
    env.filters["label"] = label
    env.globals["labels"] = labels()
    return env


class Site:
    """The pages, bound to one store and the registry's outlets."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self._store = store
        self.registry = load_registry()
        self.outlet_names = {s.id: s.name for s in self.registry.sources}
        self.env = templates()
        self._sources: list[str] = []
        self._sources_at = -SOURCES_TTL_S

    @property
    def store(self) -> Store:
        if self._store is None:  # connect on first use: the page starts even if the engine is down
            self._store = Store.from_settings(self.settings, replay=False)
        return self._store

    # -- helpers ---------------------------------------------------------------------------
    def query(self, request: Request) -> Query:
        return Query.from_params(request.query_params.multi_items(), sources_known=self.sources_known())

    def sources_known(self) -> list[str]:
        """Outlets a link may name: the registry's, and any still in the index (refreshed each minute)."""
        if time.monotonic() - self._sources_at > SOURCES_TTL_S:
            indexed = list(self.store.term_counts("source"))
            self._sources = [*self.registry.ids, *(s for s in sorted(indexed) if s not in self.registry.ids)]
            self._sources_at = time.monotonic()
        return self._sources

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        query: Query | None = context.get("query")
        qs = query.to_query_string() if query else ""
        page = self.env.get_template(name).render(
            request_path=request.url.path,
            qs=qs,
            link=lambda path, q=None, **extra: link(path, q if q is not None else query, **extra),
            outlet_name=lambda s: self.outlet_names.get(s, s),
            **context,
        )
        return HTMLResponse(page, status_code=status)

    # -- pages -----------------------------------------------------------------------------
    def search(self, request: Request) -> Response:
        query = self.query(request)
        cursor = request.query_params.get("cursor") or None
        page = results.search(self.store, query, size=self.settings.web.page_size, cursor=cursor)
        counts = results.facets(self.store, query)
        offset = int(cursor) if query.stories and cursor else 0
        capped = bool(page.cursor) and query.stories and offset + 2 * len(page.hits) > results.MAX_WINDOW
        return self.render(
            request,
            "search.html",
            query=query,
            page=page,
            facets=counts,
            facet_links=facet_links(query, counts),
            range_links=range_links(query),
            next_cursor=None if capped else page.cursor,
            capped=capped,
            first_page=cursor is None,
            article_id=doc_id,
        )

    def article(self, request: Request) -> Response:
        found = results.article(self.store, request.path_params["article_id"])
        if found is None:
            raise HTTPException(404, "Ese artículo no está en el índice (quizá se borró o el enlace está incompleto).")
        art, copies = found
        scores = sorted(art.label_scores.items(), key=lambda kv: -kv[1])
        return self.render(
            request,
            "article.html",
            query=self.query(request),
            article=art,
            paragraphs=[p.strip() for p in art.text.split("\n") if p.strip()],
            copies=copies,
            scores=scores,
            article_id=doc_id,
        )

    def trends_page(self, request: Request) -> Response:
        query = self.query(request)
        options = chart_options(request)
        trend = trends(self.store, query, **options)  # validates interval and split
        return self.render(
            request,
            "trends.html",
            query=query,
            options=options,
            empty=not trend.buckets,
            chart_qs=urlencode([*query.to_params(), *chart_params(options)]),
        )

    def trends_chart(self, request: Request) -> Response:
        trend = trends(self.store, self.query(request), **chart_options(request))
        return Response(trend_svg(trend), media_type="image/svg+xml")

    def departments(self, request: Request) -> Response:
        query = self.query(request)
        counts = results.facets(self.store, query)
        rows = counts["counts"]["department"]
        top = max((n for _, n in rows), default=0)
        bars = [(name, n, round(100 * n / top, 1) if top else 0) for name, n in rows]
        return self.render(request, "departments.html", query=query, bars=bars, total=counts["total"])

    def outlets(self, request: Request) -> Response:
        rows = status_report(self.store, self.registry)
        rows.sort(key=lambda r: (-r["articles_7d"], r["name"].lower()))
        return self.render(request, "outlets.html", query=self.query(request), rows=rows)

    def download(self, request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in DOWNLOADS:
            raise HTTPException(404, f"No hay descargas en formato «{fmt}»: use csv o jsonl.")
        query = self.query(request).replace(stories=False)
        stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d-%H%M")
        return StreamingResponse(
            export.text_chunks(results.scan(self.store, query), fmt),  # type: ignore[arg-type]
            media_type=export.MEDIA_TYPES[fmt],
            headers={"content-disposition": f'attachment; filename="vigia-{stamp}.{fmt}"'},
        )

    def feed(self, request: Request) -> Response:
        query = self.query(request)
        page = results.search(self.store, query, size=FEED_ENTRIES)
        base = str(request.base_url).rstrip("/")
        body = atom_feed(query, [h.article for h in page.hits], base=base, self_url=str(request.url))
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    # -- errors ----------------------------------------------------------------------------
    def error(self, request: Request, status: int, title: str, message: str) -> HTMLResponse:
        try:
            query = self.query(request)
        except VigiaError:
            query = Query()
        return self.render(request, "error.html", status=status, query=query, title=title, message=message)


def link(path: str, query: Query | None, **extra: Any) -> str:
    """A page's URL: the path and the query's parameters (plus page options such as cursor)."""
    params = [*(query.to_params() if query else []), *((k, str(v)) for k, v in extra.items() if v not in (None, ""))]
    return f"{path}?{urlencode(params)}" if params else path


def facet_links(query: Query, counts: dict[str, Any]) -> dict[str, list[tuple[str, int, bool, Query]]]:
    """Per facet field, each value with its count, whether it is applied, and the query that
    toggles it (values of one field are OR; applying one narrows the search)."""
    out: dict[str, list[tuple[str, int, bool, Query]]] = {}
    for name in ("violence_type", "actor", "department", "source"):
        current: tuple[str, ...] = getattr(query, name)
        rows = []
        for value, n in counts["counts"][name]:
            on = value in current
            toggled = tuple(v for v in current if v != value) if on else (*current, value)
            rows.append((value, n, on, query.replace(**{name: toggled})))
        out[name] = rows
    return out


def range_links(query: Query) -> list[tuple[str, bool, Query]]:
    return [
        (name, (query.since or "") == since and not query.until, query.replace(since=since or None, until=None))
        for since, name in labels()["ranges"].items()
    ]


def chart_options(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "interval": params.get("interval") or "week",
        "split_by": params.get("split") or None,
        "normalize": params.get("norm") in ("1", "on", "true"),
    }


def chart_params(options: dict[str, Any]) -> list[tuple[str, str]]:
    params = [("interval", options["interval"])]
    if options["split_by"]:
        params.append(("split", options["split_by"]))
    if options["normalize"]:
        params.append(("norm", "1"))
    return params


# -- middleware (plain ASGI: it also wraps error pages and static files) ---------------------
class Guard:
    """Read-only, security headers on every answer, optional HTTP basic auth."""

    def __init__(self, app: ASGIApp, site: Site, credentials: tuple[str, str] | None) -> None:
        self.app, self.site, self.credentials = app, site, credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        request = Request(scope)
        if scope["method"] not in ("GET", "HEAD"):
            response: Response = self.site.error(
                request, 405, "Método no permitido", "Esta página es de solo lectura: use GET."
            )
            response.headers["allow"] = "GET, HEAD"
        elif self.credentials and not self.authorized(request):
            response = self.site.error(
                request, 401, "Acceso restringido", "Esta instancia de Vigía pide usuario y contraseña."
            )
            response.headers["www-authenticate"] = 'Basic realm="Vigia", charset="UTF-8"'
        else:
            await self.app(scope, receive, send_secured)
            return
        await response(scope, receive, send_secured)

    def authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected_user, expected_password = self.credentials  # type: ignore[misc]
        return secrets.compare_digest(user.encode(), expected_user.encode()) & secrets.compare_digest(
            password.encode(), expected_password.encode()
        )


def create_app(settings: Settings, store: Store | None = None) -> ASGIApp:
    """The web application for ``settings`` (its engine, its basic-auth account if any); the
    guard wraps everything, error pages of the outermost layer included."""
    site = Site(settings, store)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {404: "Página no encontrada", 405: "Método no permitido"}
        detail = exc.detail if exc.status_code != 404 or "artículo" in exc.detail else "Esa dirección no existe."
        return site.error(request, exc.status_code, titles.get(exc.status_code, "Error"), detail)

    async def vigia_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StoreError):
            log.warning("engine error on %s: %s", request.url.path, exc)
            message = "El motor de búsqueda no responde; inténtelo de nuevo en unos minutos."
            return site.error(request, 503, "Búsqueda no disponible", message)
        status = 400 if isinstance(exc, InputError) else 500
        return site.error(request, status, "La búsqueda no es válida", str(exc))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error on %s", request.url.path, exc_info=exc)
        return site.error(request, 500, "Error interno", "Algo falló al preparar esta página; ya quedó registrado.")

    routes = [
        Route("/", site.search, name="search"),
        Route("/articulo/{article_id}", site.article, name="article"),
        Route("/tendencias", site.trends_page, name="trends"),
        Route("/tendencias.svg", site.trends_chart, name="trends_chart"),
        Route("/departamentos", site.departments, name="departments"),
        Route("/medios", site.outlets, name="outlets"),
        Route("/descargar.{fmt}", site.download, name="download"),
        Route("/feed.atom", site.feed, name="feed"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, VigiaError: vigia_error, Exception: server_error},
    )
    return Guard(app, site, settings.web.credentials())
