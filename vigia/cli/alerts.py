"""`vigia alerts …`: run the watchlists (cron), backtest them on the indexed history, read the
alert history, send a sample, and check a watchlist file.

Exit codes of `vigia alerts run` (for cron and monitoring):

- 0: the run finished; every alert that fired (if any) reached all its recipients;
- 2: nothing was judged: bad watchlist file, bad settings, or the engine is unreachable;
- 3: alerts fired but some recipient was not reached (recorded; see `vigia alerts history`;
  undelivered alerts are retried by the next runs).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigia.alerts import backtest as backtesting
from vigia.alerts import run as running
from vigia.alerts import state
from vigia.alerts.watchlist import WatchlistFile, example_text, load_watchlists
from vigia.cli.app import EngineChoice, EngineOption, app, console, fail, group, open_store, settings_for
from vigia.errors import InputError
from vigia.models import LOCAL_TZ

alerts_app = group("Alerts: e-mails on spikes, new stories, digests and silent outlets.")
app.add_typer(alerts_app, name="alerts")

WatchlistsOption = typer.Option(None, "--watchlists", "-w", help="Watchlist file (default: alerts.watchlists).")
EXIT_DELIVERY = 3


def _path(settings_path: Path, given: Path | None) -> Path:
    return given or settings_path


@alerts_app.command("run")
def run(
    watchlists: Path | None = WatchlistsOption,
    name: str | None = typer.Option(None, "--watchlist", help="Only this watchlist."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Judge and record nothing; print what would fire."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Judge every watchlist now and send what fired. Exit 0: done; 2: could not run; 3: some
    recipient not reached (retried by the next run)."""
    settings = settings_for(engine)
    chosen = load_watchlists(_path(settings.watchlists_path, watchlists), name)
    store = open_store(engine)
    if dry_run:
        for watchlist in chosen:
            report = running.Report()
            if watchlist.mode == "spike":
                decision = running.detect.judge(store, watchlist, running.detect.floor_hour(datetime.now(LOCAL_TZ)))
                report.decisions[watchlist.name] = ("FIRE " if decision.fire else "") + decision.reason
            typer.echo(f"{watchlist.name}: {report.decisions.get(watchlist.name, watchlist.mode)}")
        return
    report = running.run(store, settings, chosen)
    for watchlist, reason in report.decisions.items():
        console.print(Text(f"{watchlist}: {reason}"), highlight=False)
    for alert in report.fired + report.resent:
        reached = sum(r.status == "sent" for r in alert.recipients)
        typer.echo(f"{alert.status}: {alert.subject} ({reached}/{len(alert.recipients)} recipients)")
    if report.failed:
        raise typer.Exit(EXIT_DELIVERY)


@alerts_app.command("check")
def check(file: Path = typer.Argument(..., help="The watchlist YAML file.")) -> None:
    """Validate a watchlist file; every problem is printed with its line. Exit 1 when any."""
    parsed = WatchlistFile.read(file)
    for problem in parsed.problems:
        typer.echo(f"{file}:{problem.line}: {problem.message}" if problem.line else f"{file}: {problem.message}")
    if parsed.problems:
        raise typer.Exit(1)
    for watchlist in parsed.watchlists:
        typer.echo(f"ok {watchlist.name} ({watchlist.mode}): {watchlist.search.describe()}")


@alerts_app.command("example")
def example() -> None:
    """Print the example watchlists shipped with Vigía (a starting point for your own file)."""
    typer.echo(example_text(), nl=False)


@alerts_app.command("history")
def history(
    name: str | None = typer.Option(None, "--watchlist", help="Only this watchlist."),
    limit: int = typer.Option(30, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="JSON lines."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Alerts fired, newest first, with each recipient's outcome."""
    alerts = state.history(open_store(engine), name, limit)
    if as_json:
        for alert in alerts:
            doc = alert.to_doc()
            doc.pop("payload")
            typer.echo(json.dumps(doc, ensure_ascii=False))
        return
    table = Table(title=f"{len(alerts)} alerts", show_lines=True)
    for column in ("created", "watchlist", "kind", "status", "subject", "recipients"):
        table.add_column(column)
    for alert in alerts:
        recipients = Text()
        for r in alert.recipients:
            recipients.append(f"{r.address}: {r.status}", style="green" if r.status == "sent" else "red")
            if r.error:
                recipients.append(f" ({r.error})")
            recipients.append("\n")
        table.add_row(
            f"{alert.created_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}", alert.watchlist, alert.kind, alert.status,
            Text(alert.subject), recipients,
        )  # fmt: skip
    Console(width=200).print(table)


@alerts_app.command("test")
def test(
    name: str = typer.Argument(..., help="The watchlist."),
    to: str = typer.Option(..., "--to", help="Send the sample to this address only."),
    watchlists: Path | None = WatchlistsOption,
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Send a sample of a watchlist's e-mail now (the current numbers), to check the mail path."""
    settings = settings_for(engine)
    watchlist = load_watchlists(_path(settings.watchlists_path, watchlists), name)[0]
    if "@" not in to:
        raise InputError(f"--to {to!r} is not an e-mail address")
    store = open_store(engine)
    alert = running.send_alert(
        store, settings, running.sample_alert(store, settings, watchlist, to, datetime.now(LOCAL_TZ))
    )
    if alert.status != "sent":
        fail(f"the sample was not delivered to {to}: {alert.recipients[0].error or alert.last_error}", EXIT_DELIVERY)
    typer.echo(f"sent: {alert.subject}")


@alerts_app.command("backtest")
def backtest(
    since: str = typer.Option(..., "--since", help="Judge every window from this day (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Up to this day (default: now)."),
    name: str | None = typer.Option(None, "--watchlist", help="Only this watchlist."),
    watchlists: Path | None = WatchlistsOption,
    truth: Path | None = typer.Option(
        None, "--truth", help="Known bursts (CSV: watchlist,start,end) to score precision and recall."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Draw counts, baseline and alerts to this PNG/SVG."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """When each spike watchlist would have fired on the indexed history (tune thresholds here)."""
    settings = settings_for(engine)
    chosen = [w for w in load_watchlists(_path(settings.watchlists_path, watchlists), name) if w.mode == "spike"]
    if not chosen:
        raise InputError("no spike watchlist to backtest: new and digest watchlists do not judge windows")
    result = backtesting.backtest(
        open_store(engine), chosen, backtesting.parse_day(since), backtesting.parse_day(until, end=True)
    )
    table = Table(title=f"{len(result.fires)} alerts would have fired")
    for column in ("watchlist", "window (El Salvador)", "stories", "expected", "ratio", "p"):
        table.add_column(column)
    for fire in result.fires:
        table.add_row(
            fire.watchlist,
            f"{fire.window_start.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} → {fire.window_end.astimezone(LOCAL_TZ):%H:%M}",
            str(fire.count), f"{fire.expected:.1f}", f"{fire.ratio:.1f}", f"{fire.p_value:.1e}",
        )  # fmt: skip
    Console(width=160).print(table)
    for watchlist in chosen:
        typer.echo(f"{watchlist.name}: {sum(f.watchlist == watchlist.name for f in result.fires)} alerts, "
                   f"{result.windows[watchlist.name]} windows judged")  # fmt: skip
    if truth:
        score = backtesting.score(result, backtesting.read_truth(truth))
        for line in score.lines():
            typer.echo(line)
    if plot:
        backtesting.plot(result, plot)
        typer.echo(f"plot: {plot}")
