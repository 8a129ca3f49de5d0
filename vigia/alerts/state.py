"""Alert state in an index of its own (``<prefix>-alerts``), so a restart neither repeats nor drops.

Every alert has a deterministic id (its kind, watchlist and window), is *claimed* by creating
that document before anything is sent (a second run, or a run after a restart, finds it and
stays quiet), and is marked ``sent`` only after the mail server accepted it. An alert left
``pending`` or ``failed`` by a crash or a mail outage is sent again by the next run, with the same
Message-ID, so mail systems can drop a duplicate if the crash fell between the two.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from vigia.models import jsonable
from vigia.store import Store

Kind = Literal["spike", "new", "digest", "silence", "test"]
Status = Literal["pending", "sent", "failed"]
INDEX = "alerts"


def alert_id(kind: str, watchlist: str, window_end: datetime, extra: str = "") -> str:
    """The same watchlist and window always give the same id (and the same Message-ID)."""
    key = f"{kind}|{watchlist}|{window_end.astimezone(UTC).isoformat(timespec='seconds')}|{extra}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]


@dataclass
class Recipient:
    address: str
    status: str = "pending"  # sent | failed | pending
    error: str | None = None
    at: datetime | None = None


@dataclass
class Alert:
    alert_id: str
    kind: Kind
    watchlist: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
    subject: str = ""
    message_id: str = ""
    status: Status = "pending"
    count: float = 0
    baseline: float = 0
    ratio: float = 0
    p_value: float = 1.0
    stories: list[str] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # what the e-mail shows, to resend it as it was

    def to_doc(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Alert:
        data = dict(doc)
        for key in ("window_start", "window_end", "created_at", "sent_at"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        data["recipients"] = [
            Recipient(r["address"], r.get("status", "pending"), r.get("error"),
                      datetime.fromisoformat(r["at"]) if r.get("at") else None)
            for r in data.get("recipients") or []
        ]  # fmt: skip
        return cls(**data)


def claim(store: Store, alert: Alert) -> bool:
    """Create the alert's record; False when it exists (already fired, by this or another run)."""
    return store.create_record(INDEX, alert.alert_id, alert.to_doc())


def save(store: Store, alert: Alert) -> None:
    store.put_record(INDEX, alert.alert_id, alert.to_doc())


def _search(store: Store, filters: list[dict[str, Any]], size: int, sort: str = "created_at") -> list[Alert]:
    body = {"query": {"bool": {"filter": filters}}, "size": size, "sort": [{sort: "desc"}]}
    return [Alert.from_doc(h["_source"]) for h in store.search_raw(INDEX, body)["hits"]["hits"]]


def last_alert(store: Store, watchlist: str, kind: str = "spike") -> Alert | None:
    found = _search(store, [{"term": {"watchlist": watchlist}}, {"term": {"kind": kind}}], 1)
    return found[0] if found else None


def delivered_stories(store: Store, watchlist: str, since: datetime) -> list[str]:
    """Stories already listed by this watchlist's alerts created since ``since`` (sent or still
    to be sent): a `new` or `digest` alert never lists them again."""
    filters = [
        {"term": {"watchlist": watchlist}},
        {"terms": {"kind": ["new", "digest"]}},
        {"range": {"created_at": {"gte": since.isoformat()}}},
    ]
    stories: set[str] = set()
    for alert in _search(store, filters, 1000):
        stories.update(alert.stories)
    return sorted(stories)


def undelivered(store: Store, since: datetime) -> list[Alert]:
    """Alerts created since ``since`` that no server has accepted yet (oldest first)."""
    filters = [{"terms": {"status": ["pending", "failed"]}}, {"range": {"created_at": {"gte": since.isoformat()}}}]
    return sorted(_search(store, filters, 500), key=lambda a: a.created_at)


def history(store: Store, watchlist: str | None = None, limit: int = 50) -> list[Alert]:
    filters = [{"term": {"watchlist": watchlist}}] if watchlist else []
    return _search(store, filters, limit)
