"""Crawl bookkeeping: per-source counters for one run (thread-safe: the spider and the
pipeline threads both count), the crawl records written to the ``crawls`` index, and the
per-outlet status that makes a silent outlet visible."""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.registry import Registry

if TYPE_CHECKING:
    from vigia.store import Store

# Counters every record has (the pipeline adds new/updated/unchanged/no_article/spooled).
COUNTERS = (
    "requests",
    "links",
    "new",
    "updated",
    "unchanged",
    "not_modified",
    "skipped",
    "no_article",
    "spooled",
    "listing_bound",
    "offsite_links",
)


def error_kind(failure: Failure) -> str:
    """A short, stable name for why a request failed (the keys of ``errors`` in a record)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        if "robots.txt" in message.lower():
            return "robots"
        if message.startswith("non_html"):
            return "non_html"
        if "DOWNLOAD_MAXSIZE" in message:  # Content-Encoding that expands past the limit
            return "too_large"
        return "offsite" if "offsite" in message.lower() else "ignored"
    if isinstance(exc, DownloadCancelledError) and "max" in str(exc).lower():
        return "too_large"
    kinds = {
        DownloadTimeoutError: "timeout",
        CannotResolveHostError: "dns",
        DownloadConnectionRefusedError: "connection",
    }
    return next((name for cls, name in kinds.items() if isinstance(exc, cls)), type(exc).__name__)


@dataclass
class RunStats:
    """Counters of one crawl run, per source."""

    mode: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counters: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    last_success: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, source: str, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[source][name] += n

    def error(self, source: str, kind: str) -> None:
        with self._lock:
            self.errors[source][kind] += 1

    def success(self, source: str) -> None:
        with self._lock:
            self.last_success[source] = datetime.now(UTC)

    def records(self, registry: Registry, finished_at: datetime | None = None) -> list[dict[str, Any]]:
        """One crawl record per source touched by the run."""
        finished_at = finished_at or datetime.now(UTC)
        touched = sorted(set(self.counters) | set(self.errors))
        names = {s.id: s.name for s in registry.sources}
        return [
            {
                "run_id": self.run_id,
                "mode": self.mode,
                "source": source,
                "source_name": names.get(source, source),
                "started_at": self.started_at.isoformat(),
                "finished_at": finished_at.isoformat(),
                **{name: self.counters[source][name] for name in COUNTERS},
                "errors": dict(self.errors[source]),
                "errors_total": sum(self.errors[source].values()),
                "last_success_at": self.last_success[source].isoformat() if source in self.last_success else None,
            }
            for source in touched
        ]


def status_report(store: Store, registry: Registry, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per outlet: articles total / last 24 h / last 7 days, the newest article, errors in the
    last 24 h and the last successful fetch. Outlets without any data still get a row."""
    activity = store.source_activity(registry.ids, now or datetime.now(UTC))
    return [{"id": source.id, "name": source.name, **activity[source.id]} for source in registry.sources]
