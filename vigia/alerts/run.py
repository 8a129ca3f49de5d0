"""One alert run: resend what is still undelivered, judge every watchlist, send what fired.

Order matters for trust: an alert is claimed in the state index (deterministic id) before it is
sent, and marked sent only after the mail server accepted it; a crash anywhere leaves either
nothing (the next run judges the same window again) or a pending alert (the next run resends it
with the same Message-ID).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigia.alerts import detect, mail, state
from vigia.alerts.silence import silent_outlets
from vigia.alerts.state import Alert, Recipient
from vigia.alerts.watchlist import Watchlist
from vigia.config import Settings
from vigia.models import LOCAL_TZ, Article
from vigia.search import request, results
from vigia.search.plot import trend_png
from vigia.search.query import Query
from vigia.search.trends import trends
from vigia.store import Store

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What a run did, for the command's output and its exit code."""

    fired: list[Alert] = field(default_factory=list)
    resent: list[Alert] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)  # watchlist → why it fired or not

    @property
    def failed(self) -> list[Alert]:
        """Alerts with at least one recipient not reached."""
        return [a for a in self.fired + self.resent if any(r.status != "sent" for r in a.recipients)]


def run(
    store: Store, settings: Settings, watchlists: list[Watchlist], now: datetime | None = None, send: bool = True
) -> Report:
    now = (now or datetime.now(LOCAL_TZ)).astimezone(LOCAL_TZ)
    report = Report()
    if send:
        for alert in state.undelivered(store, now - timedelta(hours=settings.alerts.retry_hours)):
            report.resent.append(send_alert(store, settings, alert))
    for watchlist in watchlists:
        if watchlist.mode == "spike":
            alert = spike_alert(store, settings, watchlist, now, report)
        elif watchlist.mode == "new":
            alert = new_alert(store, settings, watchlist, now, report)
        else:
            alert = digest_alert(store, settings, watchlist, now, report)
        if alert is not None:
            report.fired.append(send_alert(store, settings, alert) if send else alert)
    if settings.alerts.silence.enabled and settings.alerts.operators:
        for alert in silence_alerts(store, settings, now):
            report.fired.append(send_alert(store, settings, alert) if send else alert)
    return report


# -- spikes ----------------------------------------------------------------------------------
def spike_alert(store: Store, settings: Settings, watchlist: Watchlist, now: datetime, report: Report) -> Alert | None:
    rule = watchlist.spike
    end = detect.floor_hour(now)
    decision = detect.judge(store, watchlist, end)
    report.decisions[watchlist.name] = decision.reason
    if not decision.fire:
        return None
    last = state.last_alert(store, watchlist.name, "spike")
    if last is not None and (why := detect.held_back(rule, end, decision.count, last.window_end, last.count)):
        report.decisions[watchlist.name] = f"{why} ({decision.reason})"
        return None
    alert = _new(watchlist, "spike", decision.window_start, end, now, settings)
    alert.count, alert.baseline, alert.ratio, alert.p_value = (
        decision.count, decision.expected, decision.ratio, decision.p_value,
    )  # fmt: skip
    window_label = f"{rule.window} h"
    query = watchlist.search.replace(since=decision.window_start.isoformat(), until=end.isoformat())
    alert.payload.update(
        count=decision.count,
        expected=decision.expected,
        expected_label=_num(decision.expected),
        baseline_mean_label=_num(decision.baseline_mean),
        ratio_label=f"{_num(decision.ratio)}×",
        p_label=f"{decision.p_value:.1e}".replace(".", ","),
        baseline_days=rule.baseline_days,
        volume=decision.volume,
        window_label=window_label,
        window_end_label=f"{end.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
        stories=top_stories(store, query, watchlist.top_stories),
        search_url=search_url(settings, query),
        chart_png=chart(store, watchlist, end - timedelta(days=rule.baseline_days), end),
    )
    return _claim(store, alert)


# -- new stories and digests -------------------------------------------------------------------
def new_alert(store: Store, settings: Settings, watchlist: Watchlist, now: datetime, report: Report) -> Alert | None:
    rule = watchlist.new
    start = now - timedelta(hours=rule.lookback)
    return _stories_alert(store, settings, watchlist, "new", start, now, rule.max_stories, report, {})


def digest_alert(store: Store, settings: Settings, watchlist: Watchlist, now: datetime, report: Report) -> Alert | None:
    rule = watchlist.digest
    end = now.replace(hour=rule.hour, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    if rule.every == "week":
        while end.weekday() != rule.weekday:
            end -= timedelta(days=1)
    start = end - timedelta(days=7 if rule.every == "week" else 1)
    last = state.last_alert(store, watchlist.name, "digest")
    if last is not None and last.window_end >= end:
        report.decisions[watchlist.name] = f"digest up to {end:%Y-%m-%d %H:%M} already done"
        return None
    extra = {"every_label": "semanal" if rule.every == "week" else "diario"}
    return _stories_alert(store, settings, watchlist, "digest", start, end, rule.max_stories, report, extra)


def _stories_alert(
    store: Store,
    settings: Settings,
    watchlist: Watchlist,
    kind: state.Kind,
    start: datetime,
    end: datetime,
    size: int,
    report: Report,
    extra: dict[str, Any],
) -> Alert | None:
    """Stories of [start, end) that no earlier alert of this watchlist listed, in one e-mail."""
    seen = state.delivered_stories(store, watchlist.name, start - timedelta(days=8))
    body = request.stories_body(watchlist.search, start, end, seen, size)
    found = store.search_raw("articles", body)
    articles = [Article.from_doc(h["_source"]) for h in found["hits"]["hits"]]
    report.decisions[watchlist.name] = f"{len(articles)} stories not sent before"
    if not articles:
        return None
    clusters = [a.story_cluster or a.id for a in articles]
    alert = _new(watchlist, kind, start, end, end, settings, extra=",".join(sorted(clusters)) if kind == "new" else "")
    alert.stories = clusters
    alert.count = len(clusters)
    query = watchlist.search.replace(since=start.isoformat(), until=end.isoformat())
    stories = top_stories(store, query, size)
    listed = {s["story"] for s in stories}
    stories += [_story(a, [a.source]) for a in articles if (a.story_cluster or a.id) not in listed]
    stories = [s for s in stories if s["story"] in set(clusters)]
    what = "nuevas" if kind == "new" else "del período"
    alert.payload.update(
        extra,
        stories=stories,
        detail=f"{len(clusters)} historias {what} ({start.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} – "
        f"{end.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}).",
        search_url=search_url(settings, query),
    )
    return _claim(store, alert)


# -- outlet silence -----------------------------------------------------------------------------
def silence_alerts(store: Store, settings: Settings, now: datetime) -> list[Alert]:
    alerts = []
    for silence in silent_outlets(store, settings.alerts.silence, now):
        name = f"silencio-{silence.source}"
        alert = Alert(
            alert_id=state.alert_id("silence", silence.source, silence.last_article),
            kind="silence",
            watchlist=name,
            window_start=silence.last_article,
            window_end=now,
            created_at=now,
            count=silence.silent_hours,
            baseline=silence.usual_gap_hours,
            recipients=[Recipient(a) for a in settings.alerts.operators],
        )
        alert.payload = {
            "title": silence.source,
            "watchlist": name,
            "kind": "silence",
            "query": f"Medio: {silence.source}",
            "silent_label": f"{silence.silent_hours:.0f} h",
            "detail": silence.detail(),
            "stories": [],
            "search_url": search_url(settings, Query(source=(silence.source,))),
            "footer": f"generada {now:%Y-%m-%d %H:%M} (hora de El Salvador)",
        }
        alert.subject = mail.subject(alert)
        alert.message_id = mail.message_id(alert, settings.smtp.sender)
        if state.claim(store, alert):
            alerts.append(alert)
    return alerts


# -- sending ----------------------------------------------------------------------------------
def send_alert(store: Store, settings: Settings, alert: Alert) -> Alert:
    """Send to every recipient not yet reached; record each outcome; sent once any accepted."""
    todo = [r for r in alert.recipients if r.status != "sent"]
    message = mail.build_message(alert, settings.smtp)
    outcome = mail.deliver(message, [r.address for r in todo], settings.smtp)
    at = datetime.now(LOCAL_TZ)
    for recipient in todo:
        if recipient.address in outcome.sent:
            recipient.status, recipient.error, recipient.at = "sent", None, at
        elif recipient.address in outcome.failed:
            recipient.status, recipient.error, recipient.at = "failed", outcome.failed[recipient.address], at
    alert.attempts += 1
    alert.last_error = outcome.error
    if any(r.status == "sent" for r in alert.recipients):
        alert.status = "sent"
        alert.sent_at = alert.sent_at or at
    else:
        alert.status = "failed"
    state.save(store, alert)
    return alert


def sample_alert(store: Store, settings: Settings, watchlist: Watchlist, to: str, now: datetime) -> Alert:
    """A sample of what this watchlist sends (`alerts test`): the last window's real numbers."""
    decision = detect.judge(store, watchlist, detect.floor_hour(now))
    alert = _new(watchlist, "test", decision.window_start, decision.window_end, now, settings, extra=now.isoformat())
    alert.recipients = [Recipient(to)]
    query = watchlist.search.replace(since=decision.window_start.isoformat(), until=decision.window_end.isoformat())
    alert.payload.update(
        detail=f"Mensaje de prueba. Ahora: {decision.count} historias en {watchlist.spike.window} h; "
        f"lo esperado: {_num(decision.expected)} ({decision.reason}).",
        stories=top_stories(store, query, watchlist.top_stories),
        search_url=search_url(settings, query),
        chart_png=chart(store, watchlist, now - timedelta(days=watchlist.spike.baseline_days), now),
    )
    alert.subject = mail.subject(alert)
    state.save(store, alert)
    return alert


# -- parts of an e-mail -------------------------------------------------------------------------
def _new(
    watchlist: Watchlist,
    kind: state.Kind,
    start: datetime,
    end: datetime,
    now: datetime,
    settings: Settings,
    extra: str = "",
) -> Alert:
    alert = Alert(
        alert_id=state.alert_id(kind, watchlist.name, end, extra),
        kind=kind,
        watchlist=watchlist.name,
        window_start=start,
        window_end=end,
        created_at=now,
        recipients=[Recipient(a) for a in watchlist.recipients],
    )
    alert.payload = {
        "title": watchlist.describe(),
        "watchlist": watchlist.name,
        "kind": kind,
        "query": f"Búsqueda: {watchlist.search.describe()}",
        "stories": [],
        "footer": f"generada {now.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} (hora de El Salvador)",
    }
    alert.message_id = mail.message_id(alert, settings.smtp.sender)
    return alert


def _claim(store: Store, alert: Alert) -> Alert | None:
    """Give the complete alert its subject and claim it; None when it already exists."""
    alert.subject = mail.subject(alert)
    return alert if state.claim(store, alert) else None


def top_stories(store: Store, query: Query, size: int) -> list[dict[str, Any]]:
    """The newest stories of the window: title, outlets that carried it, time, link, tags."""
    page = results.search(store, query.replace(stories=True, sort="date"), size=size)
    return [_story(hit.article, hit.outlets) for hit in page.hits]


def _story(article: Article, outlets: list[str]) -> dict[str, Any]:
    published = article.published_at.astimezone(LOCAL_TZ) if article.published_at else None
    return {
        "story": article.story_cluster or article.id,
        "title": article.title,
        "url": article.url,
        "outlets": outlets,
        "time": f"{published:%Y-%m-%d %H:%M}" if published else "",
        "tags": [*article.violence_type, *article.actor, *article.department],
    }


def search_url(settings: Settings, query: Query) -> str:
    """The same search on the web page."""
    return f"{settings.alerts.base_url.rstrip('/')}/?{query.to_query_string()}"


def chart(store: Store, watchlist: Watchlist, start: datetime, end: datetime) -> str:
    """Stories per day over the baseline and the window, as base64 PNG (the `vigia trends` chart)."""
    query = watchlist.search.replace(since=start.isoformat(), until=end.isoformat())
    trend = trends(store, query, interval="day", unit="stories", now=end)
    title = f"Historias por día: {watchlist.describe()}"
    return base64.b64encode(trend_png(trend, title=title)).decode("ascii")


def _num(value: float) -> str:
    """A number the Spanish way (decimal comma)."""
    return f"{value:.1f}".replace(".", ",")
