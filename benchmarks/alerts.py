"""Alerts benchmark: detection precision / recall of the shipped watchlists on a synthetic history
with planted bursts, and the time of one `alerts run` over 50 watchlists (goal: under 5 s).

    python benchmarks/alerts.py --articles 30000 --days 200                 # a dense local history
    python benchmarks/alerts.py --generator synthetic --articles 200000    # issue 11's five years

It uses the CLI's settings (VIGIA_HOME, VIGIA_ENGINE__*, the config file) on an index prefix of its
own, dropped at the end. ``--generator local`` (:func:`synthetic_history`) plants a burst per
watched type every ~5 weeks; ``--generator synthetic`` loads ``benchmarks/synthetic.py``'s corpus
and scores the shipped watchlists against its planted bursts.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import settings_with_prefix

from vigia.alerts import backtest, run
from vigia.alerts.backtest import Burst
from vigia.alerts.watchlist import Watchlist, WatchlistFile, example_text
from vigia.engine import local_engine
from vigia.models import LOCAL_TZ, Article
from vigia.store import Store

OUTLETS = ["elfaro", "laprensagrafica", "elsalvador_com", "diarioelmundo", "diario1", "cronio", "lapagina"]
# Daily base rate of stories per watched type, and what a planted burst adds in its day.
TYPES = {"homicide": 3.0, "disappearance": 1.0, "extortion": 1.0, "armed_clash": 0.5, "feminicide": 0.4}
BURST_WATCHLIST = {"homicide": "homicidios", "disappearance": "desaparecidos", "extortion": "extorsion",
                   "armed_clash": "enfrentamientos", "feminicide": "feminicidios"}  # fmt: skip
TITLES = {
    "homicide": "Asesinan a un hombre en {place}",
    "disappearance": "Familia denuncia desaparición de joven en {place}",
    "extortion": "Capturan a pandilleros por extorsión en {place}",
    "armed_clash": "Enfrentamiento entre la PNC y pandilleros en {place}",
    "feminicide": "Feminicidio en {place}: mujer asesinada",
}
PLACES = ["Soyapango", "Apopa", "Santa Ana", "San Miguel", "Usulután", "Ilopango", "Mejicanos"]


def synthetic_history(articles: int, days: int, end: datetime, seed: int = 3) -> tuple[list[Article], list[Burst]]:
    """Articles over ``days`` before ``end``: news of every kind, watched types with over-dispersed
    daily rates, copies of a story in several outlets, and one planted burst per watched type
    every ~5 weeks (after a 35-day warm-up). Returns the articles and the planted bursts."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    per_day = articles / days
    out: list[Article] = []
    bursts: list[Burst] = []
    serial = 0

    def add(day_start: datetime, kind: str | None, title: str) -> None:
        nonlocal serial
        serial += 1
        copies = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        when = day_start + timedelta(minutes=rng.randint(0, 1439))
        for c in range(copies):
            source = OUTLETS[(serial + c) % len(OUTLETS)]
            out.append(Article(
                url=f"https://{source}.example/{serial}-{c}", source=source, title=title, text=title + ".",
                published_at=when + timedelta(minutes=13 * c), language="es",
                violence_type=[kind] if kind else [], department=["San Salvador"], story_cluster=f"s{serial}",
                actor=["police"] if kind == "armed_clash" else [], in_el_salvador=True,
            ).finalize())  # fmt: skip

    burst_days = {kind: set(range(35 + 7 * i, days - 1, 35)) for i, kind in enumerate(TYPES)}
    for d in range(days):
        day_start = start + timedelta(days=d)
        volume = rng.gammavariate(20, per_day / 20 / 1.35)  # stories (≈1.35 articles each)
        for _ in range(int(volume)):
            add(day_start, None, f"Noticias de {rng.choice(PLACES)} {serial}")
        for kind, rate in TYPES.items():
            n = _poisson(rng, rng.gammavariate(3, rate / 3))  # over-dispersed: variance ≈ mean + mean²/3
            if d in burst_days[kind]:
                n += max(6, int(5 * rate))
                bursts.append(Burst(BURST_WATCHLIST[kind], day_start, day_start + timedelta(days=1)))
            for _ in range(n):
                add(day_start, kind, TITLES[kind].format(place=rng.choice(PLACES)))
    return out, bursts


def _poisson(rng: random.Random, rate: float) -> int:
    k, p, u = 0, pow(2.718281828459045, -rate), rng.random()
    s = p
    while u > s and k < 1000:
        k += 1
        p *= rate / k
        s += p
    return k


def fifty_watchlists(shipped: list[Watchlist]) -> list[Watchlist]:
    """The shipped watchlists plus variants (departments, windows, texts) up to 50."""
    out = list(shipped)
    departments = ["San Salvador", "Santa Ana", "San Miguel", "La Libertad", "Sonsonate", "Usulután", "La Paz"]
    i = 0
    while len(out) < 50:
        kind = list(TYPES)[i % len(TYPES)]
        spec = {"name": f"variante-{i}", "query": {"type": [kind], "department": [departments[i % 7]]},
                "recipients": ["m@example.org"], "spike": {"window": ["24h", "6h", "12h"][i % 3]}}  # fmt: skip
        if i % 4 == 0:
            spec["query"]["text"] = "asesinan | capturan | enfrentamiento"
        out.append(Watchlist.model_validate(spec))
        i += 1
    return out


# The planted bursts of benchmarks/synthetic.py, and the shipped watchlist that should catch each
# (the synthetic massacre's texts never say "masacre": the type-based homicide watchlist is the test).
SYNTHETIC_WATCHLIST = {"desapariciones": "desaparecidos", "masacre": "homicidios", "extorsión": "extorsion"}


def synthetic_corpus(store: Store, articles: int, end: datetime) -> tuple[int, list[Burst]]:
    """Issue 11's realistic five-year corpus (benchmarks/synthetic.py), loaded in a stream; its
    planted bursts as backtest truth."""
    import synthetic

    corpus = synthetic.Corpus(articles, now=end)
    loaded, _ = synthetic.load(store, corpus, progress_every=50_000)
    truth = [Burst(SYNTHETIC_WATCHLIST[b.name], b.start, b.end) for b in corpus.bursts]
    return loaded, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=200, help="History length of the local generator.")
    parser.add_argument("--generator", default="local", choices=["local", "synthetic"],
                        help="local: synthetic_history here (a planted burst per watched type every ~5 weeks); "
                             "synthetic: benchmarks/synthetic.py (five years, issue 11's planted bursts).")  # fmt: skip
    parser.add_argument("--prefix", default=f"bench{uuid.uuid4().hex[:8]}", help="Index prefix (dropped at the end).")
    args = parser.parse_args()
    # The CLI's settings (VIGIA_HOME, VIGIA_ENGINE__*, the config file), on an index prefix of its own.
    settings = settings_with_prefix(args.prefix)
    if not settings.engine.url:
        local_engine(settings).start()
    store = Store(settings)
    store.init_indices()
    end = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        t = time.perf_counter()
        if args.generator == "synthetic":
            loaded, truth = synthetic_corpus(store, args.articles, end)
            days = round(365.25 * 5)
        else:
            articles, truth = synthetic_history(args.articles, args.days, end)
            store.upsert(articles)
            store.refresh()
            loaded, days = len(articles), args.days
        print(f"indexed {loaded:,} articles over {days} days in {time.perf_counter() - t:.1f} s; "
              f"{len(truth)} planted bursts")  # fmt: skip
        shipped = [w for w in WatchlistFile(Path("example.yaml"), example_text()).valid()]
        watched = {b.watchlist for b in truth} | set(BURST_WATCHLIST.values())
        spikes = [w for w in shipped if w.mode == "spike" and w.name in watched]
        since = end - timedelta(days=days - 30)
        t = time.perf_counter()
        result = backtest.backtest(store, spikes, since, end)
        elapsed = time.perf_counter() - t
        score = backtest.score(result, [b for b in truth if b.start >= since])
        print(f"backtest of {len(spikes)} default watchlists over {days - 30} days: {elapsed:.2f} s")
        for line in score.lines():
            print("  " + line)
        fifty = fifty_watchlists(shipped)
        first_t = time.perf_counter()
        report = run.run(store, settings, fifty, now=end + timedelta(hours=1), send=False)
        first = time.perf_counter() - first_t
        again_t = time.perf_counter()
        run.run(store, settings, fifty, now=end + timedelta(hours=1, minutes=10), send=False)
        again = time.perf_counter() - again_t
        print(
            f"alerts run over {len(fifty)} watchlists (judging, claims, e-mail payloads with charts; no SMTP): "
            f"{first:.2f} s first run ({len(report.fired)} fired), {again:.2f} s the next run (goal < 5 s)"
        )
    finally:
        store.drop_indices()
        store.close()


if __name__ == "__main__":
    main()
