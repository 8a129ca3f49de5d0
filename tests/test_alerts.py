"""Alerts against real engines and a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import point_cli_at
from typer.testing import CliRunner

from vigia.alerts import backtest, detect, run, state
from vigia.alerts.watchlist import Watchlist, WatchlistFile, load_watchlists
from vigia.cli import app
from vigia.config import AlertSettings, Settings, SmtpSettings
from vigia.models import LOCAL_TZ, Article
from vigia.store import Store

NOW = datetime(2025, 3, 20, 10, 30, tzinfo=LOCAL_TZ)  # windows end at 10:00
OUTLETS = ["elfaro", "laprensagrafica", "diarioelmundo"]
_serial = iter(range(10**9))


# -- history --------------------------------------------------------------------------------
def story(when: datetime, kind: str = "other", outlets: int = 1, title: str | None = None) -> list[Article]:
    """One story (``outlets`` copies sharing a story_cluster), matching the watchlists when
    ``kind`` is homicide."""
    n = next(_serial)
    cluster = f"story-{n}"
    copies = []
    for i in range(outlets):
        source = OUTLETS[(n + i) % len(OUTLETS)]
        copies.append(
            Article(
                url=f"https://{source}.example/nota-{n}-{i}",
                source=source,
                title=title or (f"Asesinan a hombre en Soyapango {n}" if kind == "homicide" else f"Mercado {n}"),
                text="Texto de la nota.",
                published_at=when + timedelta(minutes=7 * i),
                language="es",
                violence_type=[kind] if kind != "other" else [],
                department=["San Salvador"],
                story_cluster=cluster,
            ).finalize()
        )
    return copies


def steady(end: datetime, days: int, match: int | list[int] = 1, other: int = 40) -> list[Article]:
    """``days`` windows of 24 h ending at ``end - 24h`` (the one before the current window), each
    with ``match`` homicide stories and ``other`` stories of the same outlets."""
    articles: list[Article] = []
    for day in range(1, days + 1):
        start = end - timedelta(days=day + 1)
        k = match[day - 1] if isinstance(match, list) else match
        for j in range(other):
            articles += story(start + timedelta(minutes=30 + j * 1400 // other))
        for j in range(k):
            articles += story(start + timedelta(minutes=45 + j * 1300 // max(k, 1)), "homicide")
    return articles


def burst(start: datetime, count: int, outlets: int = 3, other: int = 40, title: str | None = None) -> list[Article]:
    articles: list[Article] = []
    for j in range(other):
        articles += story(start + timedelta(minutes=20 + j * 1400 // other))
    for j in range(count):
        articles += story(start + timedelta(minutes=60 + j * 1200 // max(count, 1)), "homicide", outlets, title)
    return articles


def load(store: Store, articles: list[Article]) -> None:
    store.upsert(articles)
    store.refresh()


def watch(**spike: object) -> Watchlist:
    return Watchlist.model_validate(
        {"name": "homicidios", "description": "Homicidios", "query": {"type": ["homicide"]},
         "recipients": ["monitor@example.org", "jefa@example.org"], "spike": spike}
    )  # fmt: skip


WINDOW_START = NOW.replace(minute=0) - timedelta(days=1)


# -- a real SMTP server ----------------------------------------------------------------------
class Inbox:
    """Receives mail; refuses addresses starting with 'rechazo'."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("rechazo"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def with_smtp(settings: Settings, port: int, **alerts: object) -> Settings:
    return settings.model_copy(
        update={
            "smtp": SmtpSettings(host="127.0.0.1", port=port, sender="alertas@vigia.test", retries=4, retry_base_s=0.3),
            "alerts": AlertSettings(base_url="https://vigia.example/", **alerts),  # type: ignore[arg-type]
        }
    )


# -- watchlist files ---------------------------------------------------------------------------
def test_check_names_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "defaults:\n  recipients: [a@example.org]\nwatchlists:\n  - name: uno\n    query:\n      type: [homicidio]\n"
        "  - name: dos\n    spike:\n      window: 6x\n      ratio: 0.5\n    recipients: [nadie]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["alerts", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:6: watchlist uno: query: type 'homicidio' is not known; use one of: homicide" in result.output
    assert f"{path}:9: watchlist dos: spike.window: '6x' is not a duration" in result.output
    assert f"{path}:10: watchlist dos: spike.ratio:" in result.output
    assert f"{path}:11: watchlist dos: recipients: not an e-mail address: 'nadie'" in result.output
    example = CliRunner().invoke(app, ["alerts", "example"])
    path.write_text(example.output, encoding="utf-8")
    ok = CliRunner().invoke(app, ["alerts", "check", str(path)])
    assert ok.exit_code == 0 and "ok masacre (spike)" in ok.output and "ok feminicidios" in ok.output
    names = [w.name for w in WatchlistFile.read(path).valid()]
    assert {"masacre", "desaparecidos", "extorsion", "enfrentamientos", "fosas", "feminicidios"} <= set(names)


# -- spikes ---------------------------------------------------------------------------------------
def test_spike_fires_once_with_the_right_numbers(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    end = NOW.replace(minute=0)
    hostile = "<script>alert('x')</script> Masacre en Soyapango"
    load(store, steady(end, 30) + burst(WINDOW_START, 8, outlets=3, title=hostile))
    report = run.run(store, settings, [watch()], now=NOW)
    assert len(report.fired) == 1 and not report.failed
    assert len(handler.messages) == 1
    rcpt, message = handler.messages[0]
    assert sorted(rcpt) == ["jefa@example.org", "monitor@example.org"]
    # Copies collapse: 8 stories (24 articles). Expected: 1 story per window scaled by the volume
    # of the same outlets now (40 + 8 stories) against the baseline windows (40 + 1).
    expected = 1 * 48 / 41
    ratio = 8 / expected
    subject = message["Subject"]
    assert "Homicidios" in subject and "8 historias en 24 h" in subject
    assert f"{ratio:.1f}×".replace(".", ",") in subject and f"({expected:.1f})".replace(".", ",") in subject
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Historias en 24 h (hasta 2025-03-20 10:00): 8" in text
    assert f"Lo esperado según los 28 días anteriores: {expected:.1f}".replace(".", ",") in text
    assert "Promedio sin ajustar por volumen: 1,0" in text
    # Top stories: title, outlets, time, link, tags; hostile headline as text only.
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Masacre" in html
    assert "<script>alert('x')</script> Masacre" in text
    assert "(3 medios)" in html and "homicide, San Salvador" in html and "https://" in html
    assert html.count("<li ") == 5
    link = "https://vigia.example/?type=homicide&amp;since=2025-03-19T10%3A00%3A00-06%3A00&amp;until=2025-03-20T10%3A00%3A00-06%3A00"
    assert link in html
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f'src="cid:{images[0]["Content-ID"][1:-1]}"' in html
    alert = report.fired[0]
    assert message["Message-ID"] == f"<{alert.alert_id}.spike@vigia.test>"
    # The second run in the same window, from a fresh store (a restart): nothing more.
    restarted = Store(store.settings)
    again = run.run(restarted, settings, [watch()], now=NOW + timedelta(minutes=20))
    assert not again.fired and len(handler.messages) == 1
    saved = state.history(restarted, "homicidios")
    assert [a.status for a in saved] == ["sent"] and saved[0].count == 8
    assert {r.status for r in saved[0].recipients} == {"sent"}


def test_below_minimum_and_zero_versus_zero_stay_quiet(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    end = NOW.replace(minute=0)
    load(store, steady(end, 30, match=0) + burst(WINDOW_START, 0))
    quiet = run.run(store, settings, [watch()], now=NOW)
    assert not quiet.fired and "0 stories, below the minimum of 3" in quiet.decisions["homicidios"]
    load(store, burst(WINDOW_START, 2, other=0))
    decision = detect.judge(store, watch(), end)
    assert decision.count == 2 and decision.ratio >= 2 and not decision.fire
    assert "below the minimum" in decision.reason
    sensitive = {"ratio": 2.0, "p_value": 0.5}
    assert "below the minimum" in detect.judge(store, watch(**sensitive), end).reason
    assert detect.judge(store, watch(min_count=2, **sensitive), end).fire  # the minimum alone held it back
    assert not run.run(store, settings, [watch()], now=NOW).fired
    assert handler.messages == []


def test_cooldown_then_a_further_rise_re_alerts(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    end = NOW.replace(minute=0)
    load(store, steady(end, 30) + burst(WINDOW_START, 8))
    assert len(run.run(store, settings, [watch()], now=NOW).fired) == 1
    later = run.run(store, settings, [watch()], now=NOW + timedelta(hours=5))
    assert not later.fired and "cooldown" in later.decisions["homicidios"]
    # The next day rises further (16 stories against 8 at the alert): a re-alert after the cooldown.
    load(store, burst(end + timedelta(hours=1, minutes=5), 16))
    rise = run.run(store, settings, [watch()], now=NOW + timedelta(hours=25))
    assert len(rise.fired) == 1 and rise.fired[0].count == 16
    assert len(handler.messages) == 2 and "16 historias" in handler.messages[1][1]["Subject"]


def test_still_high_without_rising_does_not_re_alert(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    end = NOW.replace(minute=0)
    load(store, steady(end, 30) + burst(WINDOW_START, 8) + burst(end + timedelta(hours=1, minutes=5), 9))
    assert len(run.run(store, settings, [watch()], now=NOW).fired) == 1
    again = run.run(store, settings, [watch()], now=NOW + timedelta(hours=25))
    assert not again.fired and "not rising" in again.decisions["homicidios"]
    assert len(handler.messages) == 1


def test_a_day_when_every_outlet_publishes_twice_as_much_does_not_fire(store: Store) -> None:
    end = NOW.replace(minute=0)
    load(store, steady(end, 30, match=5, other=45) + burst(WINDOW_START, 10, outlets=1, other=90))
    sensitive = {"ratio": 1.5, "p_value": 0.05, "min_count": 3}
    raw = detect.judge(store, watch(normalize=False, **sensitive), end)
    assert raw.fire and raw.count == 10 and raw.expected == 5  # without normalisation: a false alarm
    normalised = detect.judge(store, watch(**sensitive), end)
    assert not normalised.fire and normalised.expected == pytest.approx(10.0) and normalised.ratio == pytest.approx(1)


def test_over_dispersed_steady_history_does_not_fire_at_defaults(store: Store) -> None:
    rng = random.Random(11)
    end = NOW.replace(minute=0)
    # Clustered killings: negative binomial counts with mean 4 and variance about 20.
    counts = [_nbinom(rng, mean=4, variance=20) for _ in range(70)]
    mean = sum(counts) / len(counts)
    assert sum((c - mean) ** 2 for c in counts) / len(counts) > 2.5 * mean
    load(store, steady(end + timedelta(days=1), 70, match=counts, other=20))
    result = backtest.backtest(store, [watch()], end - timedelta(days=40), end)
    assert result.windows["homicidios"] == 40
    assert result.fires == []
    poisson_only = [w for w in result.series["homicidios"][1] if w >= 3]
    assert poisson_only  # there were busy days that a Poisson model at 3× would be tempted by


def _nbinom(rng: random.Random, mean: float, variance: float) -> int:
    r = mean * mean / (variance - mean)
    rate = rng.gammavariate(r, mean / r)
    # Poisson draw by inversion (small rates).
    k, p, s, u = 0, pow(2.718281828459045, -rate), 0.0, rng.random()
    s = p
    while u > s:
        k += 1
        p *= rate / k
        s += p
    return k


# -- delivery --------------------------------------------------------------------------------------
def test_smtp_down_at_first_is_retried_and_delivered_once(store: Store) -> None:
    handler, port = Inbox(), free_port()
    settings = with_smtp(store.settings, port)
    load(store, steady(NOW.replace(minute=0), 30) + burst(WINDOW_START, 8))
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    starter = threading.Timer(0.8, controller.start)  # the server comes up after the first attempt
    starter.start()
    try:
        started = time.monotonic()
        report = run.run(store, settings, [watch()], now=NOW)
        assert time.monotonic() - started >= 0.3
    finally:
        starter.join()
        controller.stop()
    assert len(report.fired) == 1 and report.fired[0].status == "sent"
    assert len(handler.messages) == 1
    assert not run.run(store, settings, [watch()], now=NOW + timedelta(minutes=10)).fired


def test_a_rejected_recipient_is_recorded_and_the_others_still_get_it(
    store: Store, inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    load(store, steady(NOW.replace(minute=0), 30) + burst(WINDOW_START, 8))
    watchlist = Watchlist.model_validate(
        {**watch().model_dump(), "recipients": ["a@example.org", "rechazo@example.org", "b@example.org"]}
    )
    report = run.run(store, settings, [watchlist], now=NOW)
    assert len(report.failed) == 1
    assert len(handler.messages) == 1 and sorted(handler.messages[0][0]) == ["a@example.org", "b@example.org"]
    saved = state.history(store, "homicidios")[0]
    assert saved.status == "sent"
    outcome = {r.address: (r.status, r.error) for r in saved.recipients}
    assert outcome["a@example.org"] == ("sent", None)
    assert outcome["rechazo@example.org"][0] == "failed" and "550" in (outcome["rechazo@example.org"][1] or "")
    point_cli_at(monkeypatch, store.settings)
    listed = CliRunner().invoke(app, ["alerts", "history"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "rechazo@example.org: failed (550 5.1.1 mailbox unavailable)" in listed.output
    assert "a@example.org: sent" in listed.output


# -- new and digest ----------------------------------------------------------------------------
def test_new_and_digest_deliver_each_story_once(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port)
    new = Watchlist.model_validate(
        {"name": "fosas", "query": {"text": '"fosa clandestina"'}, "mode": "new", "recipients": ["m@example.org"]}
    )
    digest = Watchlist.model_validate(
        {"name": "resumen", "query": {"type": ["homicide"]}, "mode": "digest", "recipients": ["m@example.org"],
         "digest": {"every": "day", "hour": 7}}
    )  # fmt: skip
    first = [story(NOW - timedelta(hours=h), "homicide", 2, f"Hallan fosa clandestina {h}") for h in (2, 5, 9)]
    load(store, [a for s in first for a in s])
    report = run.run(store, settings, [new, digest], now=NOW)
    assert sorted(a.kind for a in report.fired) == ["digest", "new"]
    by_kind = {a.kind: a for a in report.fired}
    assert len(by_kind["new"].stories) == 3
    assert len(by_kind["digest"].stories) == 2  # 19 h to 07:00 today: the stories of 2 and 5 h ago are later
    # A later run: one more story, plus another outlet's copy of a story already sent.
    copy = [dataclasses_replace(first[1][0], url="https://diario1.example/copia", source="diario1",
                                published_at=NOW + timedelta(minutes=40))]  # fmt: skip
    fresh = story(NOW + timedelta(minutes=50), "homicide", 1, "Otra fosa clandestina en Apopa")
    load(store, copy + fresh)
    later = run.run(store, settings, [new, digest], now=NOW + timedelta(hours=1))
    assert [a.kind for a in later.fired] == ["new"] and later.fired[0].stories == [fresh[0].story_cluster]
    nothing = run.run(store, settings, [new, digest], now=NOW + timedelta(hours=2))
    assert nothing.fired == []
    # The next day's digest lists only stories no digest listed before.
    tomorrow = run.run(store, settings, [new, digest], now=NOW + timedelta(days=1))
    digests = [a for a in tomorrow.fired if a.kind == "digest"]
    assert len(digests) == 1 and sorted(digests[0].stories) == sorted(
        [fresh[0].story_cluster, first[0][0].story_cluster]
    )
    assert first[1][0].story_cluster not in digests[0].stories  # its new copy does not bring it back
    assert len(handler.messages) == 4
    subjects = [m["Subject"] for _, m in handler.messages]
    assert any("3 historias nuevas" in s for s in subjects) and any("1 historia nueva" in s for s in subjects)


def dataclasses_replace(article: Article, **changes: object) -> Article:
    import dataclasses

    return dataclasses.replace(article, **changes).finalize()  # type: ignore[arg-type]


# -- outlet silence -----------------------------------------------------------------------------
def test_a_silent_outlet_alerts_operators_once_and_night_hours_do_not(store: Store, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    settings = with_smtp(store.settings, port, operators=["ops@example.org"])
    day0 = NOW.replace(hour=0, minute=0)
    articles = []
    for d in range(1, 15):  # both outlets publish hourly from 07:00 to 20:00
        for hour in range(7, 21):
            for source in ("elfaro", "diario1"):
                when = day0 - timedelta(days=d) + timedelta(hours=hour, minutes=10)
                articles.append(Article(url=f"https://{source}.example/{d}-{hour}", source=source, title="Nota",
                                        text="x", published_at=when).finalize())  # fmt: skip
    for hour in range(7, 10):  # today only elfaro goes on
        when = day0 + timedelta(hours=hour, minutes=10)
        articles.append(Article(url=f"https://elfaro.example/hoy-{hour}", source="elfaro", title="Nota", text="x",
                                published_at=when).finalize())  # fmt: skip
    load(store, articles)
    night = run.run(store, settings, [], now=day0 + timedelta(hours=5))  # silent since 20:10: it is night
    assert night.fired == []
    afternoon = day0 + timedelta(hours=15)
    loud = run.run(store, settings, [], now=afternoon)
    assert [a.watchlist for a in loud.fired] == ["silencio-diario1"]
    assert "diario1" in handler.messages[0][1]["Subject"]
    assert run.run(store, settings, [], now=afternoon + timedelta(hours=1)).fired == []


# -- backtest ------------------------------------------------------------------------------------
def test_backtest_scores_planted_bursts(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    end = NOW.replace(hour=0, minute=0)  # windows of whole days, as the command aligns them
    days = 110
    planted = {22, 40, 58, 76}  # windows ending k - 1 days before the end, 18 days apart
    counts = []
    for day in range(1, days + 1):
        base = _nbinom(rng, mean=2, variance=4)
        counts.append(base + (12 if day in planted else 0))
    load(store, steady(end + timedelta(days=1), days, match=counts, other=30))
    truth = tmp_path / "truth.csv"
    rows = ["watchlist,start,end"]
    for k in sorted(planted):
        window_end = end - timedelta(days=k - 1)
        rows.append(f"homicidios,{(window_end - timedelta(days=1)).isoformat()},{window_end.isoformat()}")
    truth.write_text("\n".join(rows) + "\n", encoding="utf-8")
    watchlists = tmp_path / "w.yaml"
    watchlists.write_text(
        "watchlists:\n  - name: homicidios\n    query: {type: [homicide]}\n    recipients: [m@example.org]\n",
        encoding="utf-8",
    )
    since = (end - timedelta(days=days - 29)).date().isoformat()
    result = backtest.backtest(store, load_watchlists(watchlists), backtest.parse_day(since), end)
    score = backtest.score(result, backtest.read_truth(truth))
    assert score.recall == 1.0 and score.precision == 1.0, score.lines()
    point_cli_at(monkeypatch, store.settings)
    plot = tmp_path / "backtest.png"
    cli = CliRunner().invoke(
        app,
        ["alerts", "backtest", "--since", since, "--until", end.date().isoformat(), "--watchlists", str(watchlists),
         "--truth", str(truth), "--plot", str(plot)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert "4 alerts would have fired" in cli.output
    assert "overall: precision 1.00, recall 1.00" in cli.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_long_ranges_are_counted_in_spans_without_gaps_or_repeats(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A five-year backtest asked for every window at once and hit the engine's memory limit;
    the counts are now asked in spans, and must join up exactly."""
    end = NOW.replace(minute=0)
    load(store, steady(end, 12, match=[k % 4 for k in range(12)], other=3))
    whole = detect.fetch_counts(store, watch(), end - timedelta(days=14), end)
    monkeypatch.setattr(detect, "WINDOWS_PER_REQUEST", 5)  # 14 windows: spans of 5, 5 and 4
    spans = detect.fetch_counts(store, watch(), end - timedelta(days=14), end)
    assert len(whole.ends) == 14 and spans == whole
    assert sorted(set(spans.ends)) == spans.ends
    assert sum(spans.match) == sum(k % 4 for k in range(12))
