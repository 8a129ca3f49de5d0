"""The only module that talks to the search engine (Elasticsearch 8 or OpenSearch 2).

Writes are idempotent upserts keyed by the normalised URL: re-crawling an article never makes a
duplicate, and a changed text bumps ``revision`` and keeps the previous version's hash and dates.
When the engine is down or rejects a write, the articles go to a local spool file and are
written on the next successful connection, so nothing is lost.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from importlib import resources
from typing import Any

from vigia.config import Settings
from vigia.errors import (
    EngineAuthError,
    EngineResponseError,
    EngineUnavailable,
    IndexMissing,
    QueryTooLarge,
    StoreError,
)
from vigia.models import Article, Revision, doc_id, jsonable
from vigia.store import queries
from vigia.store.client import EngineClient
from vigia.store.spool import RecordSpool, Spool

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 502, 503, 504}
# Fields read back from an existing document to decide its next revision.
_REVISION_FIELDS = ["content_hash", "revision", "previous_versions", "crawled_at", "modified_at", "word_count"]


@dataclass
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    spooled: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, other: UpsertStats) -> UpsertStats:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.spooled += other.spooled
        self.failed += other.failed
        return self


class Store:
    def __init__(self, settings: Settings, client: EngineClient | None = None) -> None:
        self.settings = settings
        self.client = client or EngineClient(settings)
        self.prefix = settings.index.prefix
        self.spool = Spool(settings.spool_path)
        self.record_spool = RecordSpool(settings.record_spool_path)
        # Set once the engine proved unreachable: the rest of this store's writes go straight to
        # the spools instead of each waiting out the retries (one command, one store).
        self.offline = False

    @classmethod
    def from_settings(cls, settings: Settings, replay: bool = True) -> Store:
        store = cls(settings)
        if replay and (store.spool.pending() or store.record_spool.pending()):
            store.replay_spool()
        return store

    def go_offline(self, reason: object) -> None:
        """Spool every later write of this store (the engine is down); the next run replays them."""
        if not self.offline:
            log.warning("engine unreachable (%s): spooling the rest of this run to %s", reason, self.spool.path.parent)
        self.offline = True

    def alias(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    # -- requests with backoff -----------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        for attempt in range(self.settings.engine.max_retries + 1):
            try:
                return self.client.request(method, path, body=body, params=params)
            except EngineAuthError as exc:
                raise StoreError(
                    f"{exc}. Fix: set VIGIA_ENGINE__USERNAME / VIGIA_ENGINE__PASSWORD (or the config file) to valid "
                    f"credentials for {self.client.url}; for the local engine they are in "
                    f"{self.settings.credentials_file}"
                ) from None
            except EngineResponseError as exc:
                if exc.status not in RETRY_STATUSES or attempt == self.settings.engine.max_retries:
                    raise self._explained(exc) from exc
            except EngineUnavailable as exc:
                if attempt == self.settings.engine.max_retries:
                    raise EngineUnavailable(
                        f"{exc}. Fix: start it with `vigia engine start --engine {self.client.kind}`, or point "
                        f"VIGIA_ENGINE__URL at a running engine"
                    ) from exc
            _backoff(attempt)
        raise AssertionError("unreachable")

    def _explained(self, exc: EngineResponseError) -> EngineResponseError:
        """The engine's answers a user can act on, said in their terms (every command benefits)."""
        reason = json.dumps(exc.body)
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        if exc.status == 404 and isinstance(error, dict) and error.get("type") == "index_not_found_exception":
            return IndexMissing(
                exc.status,
                exc.body,
                f"index {error.get('index', '?')} does not exist on {self.client.kind} at {self.client.url}: "
                f"run `vigia index init --engine {self.client.kind}` (with the same VIGIA_INDEX__PREFIX)",
            )
        if exc.status == 400 and any(k in reason for k in ("too_many_clauses", "too_many_nested_clauses")):
            limit = re.search(r"maxClauseCount is set to (\d+)", reason)
            return QueryTooLarge(
                exc.status,
                exc.body,
                f"the query is too large: it expands to more clauses than the engine's maxClauseCount "
                f"({limit[1] if limit else 'its limit'}); every word counts once per searched field (title, lead, "
                f"text). Use fewer words or alternatives, and narrow with --type, --source, --since/--until instead",
            )
        return exc

    # -- indices -------------------------------------------------------------------------
    @cached_property
    def analysis_mode(self) -> str:
        """'spanish' when the engine has the analysis-common module, else 'fallback'."""
        probe = {
            "tokenizer": "standard",
            "filter": ["asciifolding", {"type": "stemmer", "language": "light_spanish"}],
            "text": "Policías",
        }
        try:
            self._call("POST", "/_analyze", body=probe)
        except EngineResponseError:
            return "fallback"
        return "spanish"

    def templates(self) -> dict[str, dict[str, Any]]:
        """Index templates from index_config/, rendered for this prefix and engine."""
        config = resources.files("index_config")
        analysis = json.loads(config.joinpath("analysis", f"{self.analysis_mode}.json").read_text(encoding="utf-8"))
        rendered = {}
        templates = [f for f in config.iterdir() if f.name.endswith(".template.json")]
        for path in sorted(templates, key=lambda f: f.name):
            body = json.loads(path.read_text(encoding="utf-8").replace("{prefix}", self.prefix))
            settings = body.get("template", {}).get("settings", {})
            if settings.get("analysis") == "{analysis}":
                settings["analysis"] = copy.deepcopy(analysis)
            rendered[body["_meta"]["alias"]] = body
        return rendered

    def init_indices(self) -> list[str]:
        """Create or update every template, its first index and write alias; idempotent."""
        done = []
        if self.analysis_mode == "fallback":
            log.warning(
                "%s at %s lacks Spanish analysis (no analysis-common module, as in the Elasticsearch test "
                "distribution): title and text use the standard analyzer with Spanish stop words, "
                "without stemming or accent folding",
                self.client.kind,
                self.client.url,
            )
        for name, body in self.templates().items():
            alias = self.alias(name)
            self._call("PUT", f"/_index_template/{alias}", body=body)
            if self.alias_indices(name) is None:
                self._call("PUT", f"/{alias}-000001", body={"aliases": {alias: {"is_write_index": True}}})
            else:  # additive mapping changes reach the existing indices
                self._call("PUT", f"/{alias}/_mapping", body=body["template"]["mappings"])
            done.append(alias)
        self.__dict__.pop("_article_indices", None)
        return done

    def drop_indices(self) -> None:
        """Delete this prefix's indices and templates (demo runs, tests, benchmarks)."""
        for name in self.templates():
            try:
                self._call("DELETE", f"/_index_template/{self.alias(name)}")
            except EngineResponseError as exc:
                if exc.status != 404:
                    raise
        self._call("DELETE", f"/{self.prefix}-*")
        self.__dict__.pop("_article_indices", None)

    @cached_property
    def _article_indices(self) -> list[str]:
        return sorted(self._call("GET", f"/_alias/{self.alias('articles')}"))

    def refresh(self, name: str = "articles") -> None:
        self._call("POST", f"/{self.alias(name)}/_refresh")

    def count(self, name: str = "articles", query: dict[str, Any] | None = None) -> int:
        """Documents behind the ``name`` alias (matching ``query``, an engine query clause)."""
        body = {"query": query} if query else None
        return self._call("POST", f"/{self.alias(name)}/_count", body=body)["count"]

    # -- writes --------------------------------------------------------------------------
    def upsert(self, articles: Iterable[Article]) -> UpsertStats:
        """Index articles by normalised URL; unchanged texts are not rewritten.

        Chunks are sent ``bulk_concurrency`` at a time, so preparing one chunk (revision lookup,
        serialisation) overlaps with the engine indexing another. A chunk that repeats a URL of
        a chunk in flight waits for it, so revisions never race.
        """
        stats = UpsertStats()
        if self.offline:
            stats.spooled += self.spool.append(list(articles))
            return stats
        leftovers: list[Article] = []
        in_flight: deque[tuple[list[Article], set[str], Future[UpsertStats]]] = deque()
        with ThreadPoolExecutor(self.settings.engine.bulk_concurrency) as pool:

            def settle() -> None:
                chunk, _, future = in_flight.popleft()
                try:
                    stats.add(future.result())
                except (EngineUnavailable, EngineResponseError) as exc:
                    if not leftovers:
                        log.warning("engine write failed (%s); spooling to %s", exc, self.spool.path)
                    if isinstance(exc, EngineUnavailable):
                        self.go_offline(exc)
                    leftovers.extend(chunk)

            for chunk in _chunks_by_bytes(articles, self.settings.engine.bulk_max_bytes):
                ids = {article.id for article in chunk}
                while in_flight and (
                    len(in_flight) >= self.settings.engine.bulk_concurrency or any(ids & f[1] for f in in_flight)
                ):
                    settle()
                if leftovers:  # the engine failed: keep order, spool everything that is left
                    leftovers.extend(chunk)
                    continue
                in_flight.append((chunk, ids, pool.submit(self._upsert_chunk, chunk)))
            while in_flight:
                settle()
        if leftovers:
            stats.spooled += self.spool.append(leftovers)
        return stats

    def _upsert_chunk(self, chunk: list[Article]) -> UpsertStats:
        stats = UpsertStats()
        by_id = {article.id: article for article in chunk}  # the last copy of a URL wins
        existing = self._existing(list(by_id))
        lines: list[bytes] = []
        for key, article in by_id.items():
            old = existing.get(key)
            action: dict[str, Any] = {"_id": key}
            if old is None:
                article.revision = 1
                action["_index"] = self.alias("articles")
                stats.created += 1
            elif old["_source"].get("content_hash") == article.content_hash:
                stats.unchanged += 1
                continue
            else:
                _next_revision(article, old["_source"])
                action["_index"] = old["_index"]  # stay in the index that holds it (rollover-safe)
                stats.updated += 1
            lines.append(json.dumps({"index": action}).encode())
            lines.append(json.dumps(article.to_doc(), ensure_ascii=False).encode())
        if lines:
            failed = self._bulk(b"\n".join(lines) + b"\n")
            stats.failed += failed
            stats.created -= len([f for f in failed if existing.get(f) is None])
            stats.updated -= len([f for f in failed if existing.get(f) is not None])
        return stats

    def _existing(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Real-time lookup in every index behind the alias (mget, not search)."""
        docs = [
            {"_index": index, "_id": key, "_source": _REVISION_FIELDS} for index in self._article_indices for key in ids
        ]
        found = self._call("POST", "/_mget", body={"docs": docs})["docs"]
        return {doc["_id"]: doc for doc in found if doc.get("found")}

    def _bulk(self, payload: bytes) -> list[str]:
        """Send a bulk request; retry only the items rejected with 429/5xx. Returns ids that failed."""
        for attempt in range(self.settings.engine.max_retries + 1):
            response = self._call("POST", "/_bulk", body=payload)
            if not response.get("errors"):
                return []
            retry, failed = [], []
            lines = payload.split(b"\n")
            for position, item in enumerate(response["items"]):
                result = next(iter(item.values()))
                if result.get("status", 200) < 300:
                    continue
                if result["status"] in RETRY_STATUSES:
                    retry += lines[2 * position : 2 * position + 2]
                else:
                    log.error("engine rejected document %s: %s", result.get("_id"), result.get("error"))
                    failed.append(result.get("_id"))
            if not retry:
                return failed
            if attempt == self.settings.engine.max_retries:
                raise EngineResponseError(429, f"{len(retry) // 2} documents still rejected after retries")
            payload = b"\n".join(retry) + b"\n"
            _backoff(attempt)
        return []

    def replay_spool(self) -> UpsertStats:
        """Write spooled articles, then spooled records; they leave the spool only once the engine took them."""
        stats = self._replay_articles()
        if self.spool.pending():
            return stats  # stopped: records wait too
        try:
            replayed = self.record_spool.take(self._write_records)
        except (EngineUnavailable, EngineResponseError, StoreError) as exc:
            log.warning("record spool replay stopped (%s); %s stays for the next run", exc, self.record_spool.path)
            return stats
        if replayed:
            log.info("replayed %d spooled records", replayed)
        return stats

    def _replay_articles(self) -> UpsertStats:
        with self.spool.locked() as pending:
            if not pending:
                return UpsertStats()
            stats = UpsertStats()
            for chunk in _chunks_by_bytes(pending, self.settings.engine.bulk_max_bytes):
                try:
                    stats.add(self._upsert_chunk(chunk))
                except (EngineUnavailable, EngineResponseError) as exc:
                    log.warning("spool replay stopped (%s); %s stays for the next run", exc, self.spool.path)
                    return stats
            self.spool.clear()
            self.refresh()  # counts and searches right after a replay must see the replayed articles
            log.info("replayed %d spooled articles", len(pending))
            return stats

    def index_records(
        self, name: str, docs: Sequence[dict[str, Any]], ids: Sequence[str] | None = None, spool: bool = False
    ) -> int:
        """Append records (crawl stats, alert events) to the ``name`` alias. With ``spool`` (and
        ``ids``, so a replay cannot duplicate), records the engine cannot take wait in the record
        spool for the next connection; returns how many were spooled."""
        if spool and ids is not None:
            if not self.offline:
                try:
                    self._write_records(name, list(ids), [jsonable(doc) for doc in docs])
                    return 0
                except EngineUnavailable as exc:
                    self.go_offline(exc)
            return self.record_spool.append_records(name, ids, [jsonable(doc) for doc in docs])
        self._write_records(name, None, docs)
        return 0

    def _write_records(self, name: str, ids: Sequence[str] | None, docs: Sequence[dict[str, Any]]) -> None:
        lines = []
        for position, doc in enumerate(docs):
            action: dict[str, Any] = {"_index": self.alias(name)}
            if ids is not None:
                action["_id"] = ids[position]
            lines.append(json.dumps({"index": action}).encode())
            lines.append(json.dumps(jsonable(doc), ensure_ascii=False).encode())
        if lines:
            failed = self._bulk(b"\n".join(lines) + b"\n")
            if failed:
                raise StoreError(f"{len(failed)} {name} records were rejected; see the log for the engine's reasons")

    def create_record(self, name: str, key: str, doc: dict[str, Any]) -> bool:
        """Write a record under a deterministic id only if none exists (visible at once):
        False when it already exists, so two runs can never both claim one alert."""
        try:
            self._call("PUT", f"/{self.alias(name)}/_create/{key}", body=jsonable(doc), params={"refresh": "wait_for"})
        except EngineResponseError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def put_record(self, name: str, key: str, doc: dict[str, Any]) -> None:
        """Replace the record ``key`` (state changes of an alert), visible at once."""
        self._call("PUT", f"/{self.alias(name)}/_doc/{key}", body=jsonable(doc), params={"refresh": "wait_for"})

    # -- reads ---------------------------------------------------------------------------
    def indexed_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these URLs (in any URL variant) are already indexed."""
        by_id: dict[str, list[str]] = {}
        for url in urls:
            by_id.setdefault(doc_id(url), []).append(url)
        if not by_id:
            return set()
        docs = [{"_index": index, "_id": key, "_source": False} for index in self._article_indices for key in by_id]
        found = self._call("POST", "/_mget", body={"docs": docs})["docs"]
        return {url for doc in found if doc.get("found") for url in by_id[doc["_id"]]}

    def get_articles(self, urls: Iterable[str]) -> dict[str, Article]:
        wanted = {doc_id(url): url for url in urls}
        if not wanted:
            return {}
        docs = [{"_index": index, "_id": key} for index in self._article_indices for key in wanted]
        found = self._call("POST", "/_mget", body={"docs": docs})["docs"]
        return {wanted[d["_id"]]: Article.from_doc(d["_source"]) for d in found if d.get("found")}

    def get_by_ids(self, ids: Iterable[str]) -> list[Article]:
        """The articles with these document ids (unknown ids are left out)."""
        docs = [{"_index": index, "_id": key} for index in self._article_indices for key in dict.fromkeys(ids)]
        if not docs:
            return []
        found = self._call("POST", "/_mget", body={"docs": docs})["docs"]
        return [Article.from_doc(d["_source"]) for d in found if d.get("found")]

    def scan(self, body: dict[str, Any], page_size: int = 1000, name: str = "articles") -> Iterator[dict[str, Any]]:
        """Every hit of a search ``body`` (which must sort), past the 10,000-hit window, on a
        consistent point in time; memory holds one page at a time."""
        pit_id = self.client.open_pit(self.alias(name), "2m")
        try:
            after = None
            while True:
                page = {**body, "size": page_size, "pit": {"id": pit_id, "keep_alive": "2m"}}
                if after is not None:
                    page["search_after"] = after
                hits = self._call("POST", "/_search", body=page)["hits"]["hits"]
                yield from hits
                if len(hits) < page_size:
                    return
                after = hits[-1]["sort"]
        finally:
            self.client.close_pit(pit_id)

    def search_raw(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/{self.alias(name)}/_search", body=body)

    def source_activity(self, sources: list[str], now: datetime) -> dict[str, dict[str, Any]]:
        """Per outlet: article volume (total, 24 h, 7 days), newest article, crawl errors in 24 h."""
        articles, crawls = queries.source_activity_bodies(sources, now)
        return queries.source_activity(
            sources, self.search_raw("articles", articles), self.search_raw("crawls", crawls)
        )

    def term_counts(self, field: str, name: str = "articles") -> dict[str, int]:
        """Documents per value of a keyword field (e.g. articles per violence type)."""
        buckets = self.search_raw(name, queries.term_counts_body(field))["aggregations"]["terms"]["buckets"]
        return {b["key"]: b["doc_count"] for b in buckets}

    def alias_indices(self, name: str) -> list[str] | None:
        """The indices behind the ``name`` alias (None when the alias does not exist)."""
        try:
            return sorted(self._call("GET", f"/_alias/{self.alias(name)}"))
        except EngineResponseError as exc:
            if exc.status == 404:
                return None
            raise

    def close(self) -> None:
        self.client.close()


def _next_revision(article: Article, old: dict[str, Any]) -> None:
    article.revision = int(old.get("revision") or 1) + 1
    previous = [Revision.from_doc(r) for r in old.get("previous_versions") or []]
    previous.append(Revision.from_doc({**old, "seen_at": old.get("crawled_at")}))
    article.previous_versions = previous


def _chunks_by_bytes(articles: Iterable[Article], max_bytes: int) -> Iterator[list[Article]]:
    """Group articles so that one bulk request stays under ``max_bytes`` (text dominates)."""
    chunk: list[Article] = []
    size = 0
    for article in articles:
        if not article.content_hash:
            article.finalize()
        article_size = len(article.text.encode()) + len(article.title.encode()) + 1024
        if chunk and size + article_size > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(article)
        size += article_size
    if chunk:
        yield chunk


def _backoff(attempt: int) -> None:
    time.sleep(min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
