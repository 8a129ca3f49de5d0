"""Running a query: pages of results (stories or all copies), facet counts, one article with
its copies, and every match in a constant-memory stream (for exports and feeds)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigia.errors import InputError
from vigia.models import Article
from vigia.search import request
from vigia.search.query import Query
from vigia.store import Store

# Offsets past this are refused by the engine (index.max_result_window); stories page by offset.
MAX_WINDOW = 10_000
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


@dataclass
class Copy:
    """Another outlet's copy of a story (what a result shows of it)."""

    url: str
    source: str
    source_name: str
    title: str
    published_at: str | None


@dataclass
class Hit:
    article: Article
    score: float | None
    highlight: dict[str, list[str]]
    copies: list[Copy] = field(default_factory=list)  # the story's articles, this one included
    copies_total: int = 1

    @property
    def outlets(self) -> list[str]:
        """Distinct outlets that carried the story (among the copies fetched)."""
        return sorted({c.source for c in self.copies} | {self.article.source})

    def fragments(self, name: str = "text") -> list[list[tuple[str, bool]]]:
        """Highlighted snippets of ``name`` as plain-text pieces (see :func:`highlight_fragments`)."""
        return [highlight_fragments(snippet) for snippet in self.highlight.get(name, [])]


@dataclass
class Page:
    """One page of results; ``cursor`` continues it (an offset for stories, a sort key otherwise)."""

    query: Query
    total: int  # matching articles
    stories: int | None  # distinct stories among them (stories mode)
    hits: list[Hit]
    cursor: str | None


def search(store: Store, query: Query, size: int = 20, cursor: str | None = None, now: datetime | None = None) -> Page:
    """One page of results, newest first (or by relevance). Pass the previous page's ``cursor``
    for the next one: all copies page with ``search_after`` (no depth limit); stories page by
    offset, up to the engine's 10,000-result window."""
    offset, after = _parse_cursor(cursor, query)
    if query.stories and offset + size > MAX_WINDOW:
        raise InputError(
            f"stories page past the first {MAX_WINDOW:,} results; narrow the search (dates, filters), "
            "show all copies (copies=all / --all-copies), or export it"
        )
    body = request.search_body(query, size, offset=offset, search_after=after, now=now)
    result = store.search_raw("articles", body)
    raw_hits = result["hits"]["hits"]
    hits = [_hit(h) for h in raw_hits]
    total = result["hits"]["total"]["value"]
    stories = result.get("aggregations", {}).get("stories", {}).get("value") if query.stories else None
    next_cursor = None
    if len(raw_hits) == size:
        next_cursor = str(offset + size) if query.stories else _encode_after(raw_hits[-1]["sort"])
        if query.stories and stories is not None and offset + size >= stories:
            next_cursor = None
    return Page(query, total, stories, hits, next_cursor)


def facets(store: Store, query: Query, now: datetime | None = None) -> dict[str, Any]:
    """Counts per value of each facet field, the number of matches and their date range."""
    result = store.search_raw("articles", request.facets_body(query, now))
    aggs = result["aggregations"]
    counts = {name: [(b["key"], b["doc_count"]) for b in aggs[name]["buckets"]] for name in request.FACETS}
    return {
        "total": result["hits"]["total"]["value"],
        "counts": counts,
        "first": aggs["first"].get("value_as_string"),
        "last": aggs["last"].get("value_as_string"),
    }


def article(store: Store, article_id: str) -> tuple[Article, list[Copy]] | None:
    """One article and the other outlets' copies of its story (None when the id is unknown)."""
    found = store.get_by_ids([article_id])
    if not found:
        return None
    art = found[0]
    copies: list[Copy] = []
    if art.story_cluster:
        hits = store.search_raw("articles", request.copies_body(art.story_cluster))["hits"]["hits"]
        copies = [_copy(h["_source"]) for h in hits]
        copies = [c for c in copies if c.url != art.url]
    return art, copies


def scan(store: Store, query: Query, now: datetime | None = None, page_size: int = 1000) -> Iterator[Article]:
    """Every matching article (all copies), newest first, in constant memory (point in time)."""
    for raw in store.scan(request.export_body(query, now), page_size=page_size):
        yield Article.from_doc(raw["_source"])


def count(store: Store, query: Query, now: datetime | None = None) -> int:
    return store.count(query=request.query_clause(query, now))


def highlight_fragments(snippet: str) -> list[tuple[str, bool]]:
    """An engine highlight (HTML-encoded, matches in ``<mark>``) as plain-text pieces, each
    with whether it is a match: renderers style the pieces and never parse crawled text."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _MARK.finditer(snippet):
        if match.start() > position:
            pieces.append((html.unescape(snippet[position : match.start()]), False))
        pieces.append((html.unescape(match[1]), True))
        position = match.end()
    if position < len(snippet):
        pieces.append((html.unescape(snippet[position:]), False))
    return pieces


def _hit(raw: dict[str, Any]) -> Hit:
    hit = Hit(Article.from_doc(raw["_source"]), raw.get("_score"), raw.get("highlight", {}))
    inner = raw.get("inner_hits", {}).get("copies")
    if inner:
        hit.copies = [_copy(h["_source"]) for h in inner["hits"]["hits"]]
        hit.copies_total = inner["hits"]["total"]["value"]
    return hit


def _copy(source: dict[str, Any]) -> Copy:
    return Copy(
        url=source["url"],
        source=source["source"],
        source_name=source.get("source_name") or source["source"],
        title=source.get("title") or "",
        published_at=source.get("published_at"),
    )


def _encode_after(sort: list[Any]) -> str:
    return json.dumps(sort, separators=(",", ":"))


def _parse_cursor(cursor: str | None, query: Query) -> tuple[int, list[Any] | None]:
    """A cursor from a link is user input: validate it."""
    if not cursor:
        return 0, None
    if query.stories:
        if not cursor.isdigit():
            raise InputError(f"page cursor {cursor!r} is not valid for stories (an offset is expected); start again")
        return int(cursor), None
    try:
        after = json.loads(cursor)
    except ValueError:
        after = None
    if not isinstance(after, list) or len(after) != len(request.sort_order(query)):
        raise InputError(f"page cursor {cursor!r} is not valid for this search; start again from the first page")
    return 0, after
