"""Synthetic articles at realistic volume, for benchmarks, development and alert backtests.

    python benchmarks/synthetic.py --articles 200000 [--prefix bench] [--seed 7] [--replace]

The registry's outlets publish with realistic relative volumes over five years up to now (more
on weekdays and in daytime, slowly growing); labels (taxonomy ids) and places (gazetteer
departments and municipalities) are drawn with realistic frequencies; wire stories are copied
by several outlets under one ``story_cluster``. The texts are Spanish sentences assembled from
templates, never real articles. A few bursts are planted (a week of disappearances in one
department, a massacre day, an extortion wave) and returned as data (:class:`Burst`: the query,
its window, how many articles), so that trend charts and alert backtests can be checked
against them. Loading uses the CLI's settings (``VIGIA_HOME``, ``VIGIA_ENGINE__*``, …).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from classifiers.places import gazetteer
from classifiers.taxonomy import load_taxonomy
from crawler.registry import load_registry
from vigia.config import Settings, get_settings
from vigia.errors import VigiaError
from vigia.models import LOCAL_TZ, Article
from vigia.search.query import Query
from vigia.store import Store

# Relative daily volume per outlet (registry ids; an outlet not named here publishes like "other").
OUTLET_VOLUME = {
    "laprensagrafica": 14,
    "elsalvador_com": 14,
    "diarioelsalvador": 12,
    "diarioelmundo": 9,
    "lapagina": 9,
    "diario1": 7,
    "elsalvadortimes": 6,
    "canal12": 6,
    "diariocolatino": 5,
    "ultimahora": 4,
    "cronio": 3,
    "contrapunto": 3,
    "radioyskl": 3,
    "elfaro": 2,
    "pnc": 2,
    "focos": 1.5,
    "fgr": 1,
    "insightcrime": 1,
    "revistafactum": 0.7,
    "gatoencerrado": 0.7,
    "alharaca": 0.5,
    "other": 1,
}
# Share of articles by main violence type; None: an article on something else (most news).
TYPE_SHARE: dict[str | None, float] = {
    None: 36,
    "arrest": 19,
    "homicide": 12,
    "extortion": 6,
    "disappearance": 5,
    "weapons": 4,
    "attack_injury": 4,
    "state_abuse": 3,
    "sexual_violence": 3,
    "threats_displacement": 2,
    "feminicide": 1.5,
    "armed_clash": 1,
}
# Labels that often come with the main one, and how often.
ALSO = {
    "arrest": [("extortion", 0.25), ("weapons", 0.12), ("homicide", 0.1)],
    "homicide": [("arrest", 0.12), ("attack_injury", 0.08)],
    "feminicide": [("homicide", 1.0), ("arrest", 0.2)],
    "extortion": [("arrest", 0.4), ("threats_displacement", 0.1)],
    "disappearance": [("homicide", 0.15)],
    "weapons": [("arrest", 0.5)],
    "state_abuse": [("arrest", 0.3)],
    "armed_clash": [("homicide", 0.3), ("weapons", 0.3)],
}
# Actors by main type, with weights; one or two are drawn.
ACTORS: dict[str | None, dict[str, float]] = {
    None: {"justice_government": 3, "police": 1, "civilians": 1},
    "arrest": {"police": 6, "justice_government": 3, "gang_unspecified": 3, "ms13": 1.5, "barrio18": 1},
    "homicide": {"unknown_armed": 4, "civilians": 4, "police": 2, "gang_unspecified": 1.5},
    "feminicide": {"civilians": 5, "police": 2, "justice_government": 1},
    "extortion": {"gang_unspecified": 4, "ms13": 3, "barrio18": 2, "police": 2},
    "disappearance": {"civilians": 4, "unknown_armed": 2, "police": 1.5},
    "weapons": {"police": 4, "military": 2, "organized_crime": 1.5},
    "attack_injury": {"unknown_armed": 3, "civilians": 3},
    "state_abuse": {"police": 3, "military": 2, "justice_government": 2},
    "sexual_violence": {"civilians": 4, "justice_government": 2},
    "threats_displacement": {"gang_unspecified": 3, "civilians": 3},
    "armed_clash": {"military": 3, "police": 3, "gang_unspecified": 3},
}
# Departments by share of the news (roughly population, the capital over-represented).
DEPARTMENT_SHARE = {
    "San Salvador": 30,
    "La Libertad": 12,
    "Santa Ana": 8.5,
    "San Miguel": 8,
    "Sonsonate": 7,
    "Usulután": 5,
    "Ahuachapán": 5,
    "La Paz": 5,
    "Cuscatlán": 4,
    "La Unión": 4,
    "Chalatenango": 3,
    "Morazán": 3,
    "San Vicente": 2.5,
    "Cabañas": 2.5,
}
HOUR_SHARE = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 4, 3, 2, 1]
WIRE_SHARE = 0.12  # stories carried by several outlets
GROWTH = 0.5  # the last day has 50% more articles than the first one

TITLES: dict[str | None, list[str]] = {
    None: [
        "Alcaldía de {place} inaugura mercado remodelado",
        "Lluvias dañan la carretera principal en {place}",
        "Asamblea discute presupuesto para obras en {place}",
        "Vecinos de {place} celebran las fiestas patronales",
        "Escuela de {place} recibe computadoras nuevas",
    ],
    "arrest": [
        "Capturan a {n} pandilleros en {place}",
        "PNC detiene a {n} sujetos durante operativo en {place}",
        "Envían a prisión a {n} detenidos de {place}",
    ],
    "homicide": [
        "Asesinan a {victim} en {place}",
        "Hallan cadáver de {victim} en {place}",
        "Matan a {victim} en una colonia de {place}",
    ],
    "feminicide": ["Feminicidio en {place}: asesinan a una mujer", "Capturan a feminicida de una joven en {place}"],
    "extortion": [
        "Capturan a extorsionistas que cobraban renta en {place}",
        "Comerciantes de {place} denuncian extorsiones",
        "Desarticulan red de extorsión en {place}",
    ],
    "disappearance": [
        "Buscan a {victim} desaparecido en {place}",
        "Familia denuncia la desaparición de {victim} en {place}",
        "Encuentran fosa clandestina en {place}",
    ],
    "weapons": ["Decomisan armas de fuego en {place}", "Incautan fusiles y municiones en {place}"],
    "attack_injury": ["Ataque armado deja {n} heridos en {place}", "Hieren de bala a {victim} en {place}"],
    "state_abuse": ["Denuncian torturas en penal de {place}", "Familiares denuncian detención arbitraria en {place}"],
    "sexual_violence": ["Condenan a agresor sexual en {place}", "Capturan a sujeto por violación en {place}"],
    "threats_displacement": ["Familias huyen de sus casas en {place} por amenazas", "Amenazas de muerte en {place}"],
    "armed_clash": ["Enfrentamiento armado entre soldados y pandilleros en {place}", "Balacera en {place}"],
}
VICTIMS = ["un joven", "una mujer", "un comerciante", "un motorista", "un agricultor", "una estudiante", "un vendedor"]
ACTOR_WORDS = {
    "police": "agentes de la Policía Nacional Civil",
    "military": "soldados de la Fuerza Armada",
    "justice_government": "la Fiscalía General de la República",
    "ms13": "miembros de la Mara Salvatrucha",
    "barrio18": "pandilleros del Barrio 18",
    "gang_unspecified": "pandilleros",
    "organized_crime": "una red de narcotráfico",
    "civilians": "los vecinos",
    "unknown_armed": "sujetos desconocidos",
}
SENTENCES = [
    "Según {actor}, el hecho ocurrió en {place} durante la madrugada.",
    "{Actor} informaron que el caso sigue bajo investigación.",
    "Los familiares pidieron que no se publicaran sus nombres por temor.",
    "El Instituto de Medicina Legal realizó el reconocimiento en la zona.",
    "Testigos relataron que se escucharon gritos antes de la llegada de las autoridades.",
    "La audiencia inicial fue programada para la próxima semana en un juzgado de {place}.",
    "Es el {n} caso de este tipo en {place} en lo que va del mes.",
    "Habitantes de {place} aseguraron que la zona había estado tranquila.",
    "El ministro de Seguridad se refirió al caso en sus redes sociales.",
    "Organizaciones de derechos humanos pidieron una investigación independiente.",
    "La colonia permaneció acordonada por varias horas mientras se procesaba la escena.",
    "Las autoridades no han revelado la identidad de los implicados.",
]
NEUTRAL = [
    "La obra beneficiará a unas {n} mil personas de {place}, según la alcaldía.",
    "{Actor} explicaron que los trabajos terminarán antes de fin de año.",
    "Los comerciantes de {place} esperan un aumento de las ventas.",
    "El proyecto fue financiado con fondos del presupuesto general.",
    "Vecinos consultados dijeron que esperaban la obra desde hace años.",
    "La actividad contó con la participación de estudiantes y docentes.",
]
ABROAD = ["Guatemala", "Honduras", "Los Ángeles", "Ciudad de México", "Houston", "Tegucigalpa"]
UNPLACED = ["una colonia", "un cantón", "la zona norte", "un caserío"]


@dataclass(frozen=True)
class Burst:
    """A planted burst: ``articles`` articles of one violence type in one place, inside a window."""

    name: str
    violence_type: str
    department: str
    municipality: str | None
    actor: str | None
    start: datetime
    end: datetime
    articles: int

    def query(self) -> Query:
        """The search that finds it (with the window); ``.replace(since=None, until=None)`` for all time."""
        return Query(
            violence_type=(self.violence_type,),
            department=(self.department,),
            municipality=(self.municipality,) if self.municipality else (),
            since=self.start.isoformat(),
            until=self.end.isoformat(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.query().to_query_string(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "articles": self.articles,
        }


@dataclass
class Corpus:
    """``count`` synthetic articles (iterate to generate them, in constant memory) and the bursts
    planted among them; the same seed and ``now`` give the same articles."""

    count: int
    seed: int = 7
    now: datetime = field(default_factory=lambda: datetime.now(LOCAL_TZ).replace(minute=0, second=0, microsecond=0))
    years: float = 5.0
    bursts: list[Burst] = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.now - timedelta(days=round(365.25 * self.years))
        self._check_ids()
        self.bursts = self._plan_bursts(random.Random(f"{self.seed}-bursts"))

    # -- planning ----------------------------------------------------------------------------
    def _check_ids(self) -> None:
        """Every id used here must still be a taxonomy id, a department or an outlet."""
        labels = set(load_taxonomy().ids())
        used = {t for t in TYPE_SHARE if t} | {a for weights in ACTORS.values() for a in weights} | set(ACTOR_WORDS)
        places = gazetteer()
        outlets = load_registry()
        stale = (used - labels) | (set(DEPARTMENT_SHARE) ^ set(places.departments))
        stale |= set(OUTLET_VOLUME) - set(outlets.ids) - {"other"}
        if stale:
            raise ValueError(f"benchmarks/synthetic.py names ids that no longer exist: {sorted(stale)}")
        self.outlets = [outlets.get(i) for i in outlets.ids]
        self.outlet_weights = [OUTLET_VOLUME.get(o.id, OUTLET_VOLUME["other"]) for o in self.outlets]
        self.municipalities = {d: list(m) for d, m in places_by_department().items()}

    def _plan_bursts(self, rng: random.Random) -> list[Burst]:
        if self.count < 1000:
            return []

        def day(back: int) -> datetime:
            return (self.now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)

        week = day(rng.randint(60, 300))
        week -= timedelta(days=week.weekday())  # a calendar week, Monday first
        department = rng.choice(["La Libertad", "Sonsonate", "San Miguel"])
        massacre = day(rng.randint(400, 800))
        wave = day(rng.randint(10, 30))
        last_second = timedelta(days=1, seconds=-1)
        return [
            Burst(
                "desapariciones", "disappearance", department, None, "civilians",
                week, week + 7 * timedelta(days=1) - timedelta(seconds=1), max(30, self.count // 1000),
            ),
            Burst(
                "masacre", "homicide", "San Miguel", "San Miguel Centro", "unknown_armed",
                massacre, massacre + last_second, max(20, self.count // 2000),
            ),
            Burst(
                "extorsión", "extortion", "San Salvador", "San Salvador Este", "ms13",
                wave, wave + 3 * timedelta(days=1) - timedelta(seconds=1), max(15, self.count // 4000),
            ),
        ]  # fmt: skip

    # -- generation --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Article]:
        rng = random.Random(f"{self.seed}-articles")
        serial = 0
        for burst in self.bursts:
            made = 0
            while made < burst.articles:
                when = burst.start + (burst.end - burst.start) * rng.random()
                story = self._story(rng, serial, when, burst.violence_type, burst)
                for article in story[: burst.articles - made]:
                    yield article
                    made += 1
                serial += len(story)
        planted = sum(b.articles for b in self.bursts)
        made = 0
        while made < self.count - planted:
            kind = rng.choices(list(TYPE_SHARE), weights=list(TYPE_SHARE.values()))[0]
            story = self._story(rng, serial, self._when(rng), kind, None)
            for article in story[: self.count - planted - made]:
                yield article
                made += 1
            serial += len(story)

    def _when(self, rng: random.Random) -> datetime:
        """A publication time: more recent days a little more often, weekdays and daytime more."""
        span = (self.now - self.start).days
        while True:
            x = (math.sqrt(1 + 2 * GROWTH * rng.random() * (1 + GROWTH / 2)) - 1) / GROWTH
            day = self.start + timedelta(days=min(int(x * span), span - 1))
            if day.weekday() < 5 or rng.random() < 0.65:
                break
        hour = rng.choices(range(24), weights=HOUR_SHARE)[0]
        when = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        return when if when <= self.now else when - timedelta(days=1)

    def _story(
        self, rng: random.Random, serial: int, when: datetime, kind: str | None, burst: Burst | None
    ) -> list[Article]:
        """One story: an article, or (wire) copies of it in several outlets within a few hours."""
        types = [kind] if kind else []
        for other, share in ALSO.get(kind or "", []):
            if rng.random() < share and other not in types:
                types.append(other)
        if burst and burst.actor:
            actors = [burst.actor]
        else:
            weights = ACTORS[kind]
            actors = list(
                dict.fromkeys(rng.choices(list(weights), weights=list(weights.values()), k=rng.randint(1, 2)))
            )
            if kind is None and rng.random() < 0.7:
                actors = []  # most other news names no actor of the taxonomy
        department, municipality, in_sv = self._place(rng, burst)
        if municipality:
            place = rng.choice(gazetteer_districts(municipality))
        else:
            place = rng.choice(ABROAD if in_sv is False else UNPLACED)
        words = {"place": place, "n": rng.randint(2, 9), "victim": rng.choice(VICTIMS)}
        title = rng.choice(TITLES[kind]).format(**words)
        actor = ACTOR_WORDS[actors[0]] if actors else "las autoridades"
        pool = SENTENCES if kind else NEUTRAL
        sentences = [
            rng.choice(pool).format(actor=actor, Actor=actor[0].upper() + actor[1:], **words)
            for _ in range(rng.randint(8, 30))
        ]
        lead = f"{title}. {sentences[0]}"
        text = "\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
        copies = 1 if rng.random() > WIRE_SHARE else rng.choice([2, 2, 2, 3, 3, 4, 5])
        if burst:
            copies = rng.randint(1, 4)
        outlets: list[int] = []
        while len(outlets) < copies:
            pick = rng.choices(range(len(self.outlets)), weights=self.outlet_weights)[0]
            if pick not in outlets:
                outlets.append(pick)
        cluster = f"syn{self.seed}-{serial}"
        articles = []
        for i, pick in enumerate(outlets):
            outlet = self.outlets[pick]
            published = when + timedelta(minutes=rng.randint(0, 360)) * (i > 0)
            published = min(published, burst.end if burst else self.now)
            articles.append(
                Article(
                    url=f"https://{outlet.domains[0]}/noticias/{published:%Y/%m}/nota-{self.seed}-{serial + i}",
                    source=outlet.id,
                    source_name=outlet.name,
                    title=title,
                    lead=lead,
                    text=text,
                    published_at=published,
                    crawled_at=published + timedelta(minutes=rng.randint(5, 240)),
                    date_source="synthetic",
                    language="es",
                    violence_type=types,
                    actor=actors,
                    label_scores={label: round(rng.uniform(0.55, 0.99), 3) for label in types + actors},
                    department=[department] if department else [],
                    municipality=[municipality] if municipality else [],
                    in_el_salvador=in_sv,
                    classifier="synthetic",
                    story_cluster=cluster if copies > 1 else None,
                ).finalize()
            )
        return articles

    def _place(self, rng: random.Random, burst: Burst | None) -> tuple[str | None, str | None, bool | None]:
        """(department, municipality, in El Salvador): 75% placed, 10% abroad, 15% unknown."""
        if burst:
            return burst.department, burst.municipality or rng.choice(self.municipalities[burst.department]), True
        roll = rng.random()
        if roll < 0.10:
            return None, None, False
        if roll < 0.25:
            return None, None, None
        department = rng.choices(list(DEPARTMENT_SHARE), weights=list(DEPARTMENT_SHARE.values()))[0]
        municipalities = self.municipalities[department]
        # the municipality holding the departmental capital ("… Centro") is named twice as often
        weights = [2 if m.endswith("Centro") else 1 for m in municipalities]
        return department, rng.choices(municipalities, weights=weights)[0], True


_DISTRICTS: dict[str, list[str]] = {}


def places_by_department() -> dict[str, dict[str, list[str]]]:
    """department → municipality → districts, from the gazetteer's data."""
    places = gazetteer()
    out: dict[str, dict[str, list[str]]] = {d: {} for d in places.departments}
    for readings in places.readings.values():
        for place in readings:
            if place.municipality and place.district:
                out[place.department].setdefault(place.municipality, []).append(place.district)
    return out


def gazetteer_districts(municipality: str) -> list[str]:
    """The districts (former municipalities) of a municipality: the names the texts mention."""
    if not _DISTRICTS:
        for municipalities in places_by_department().values():
            _DISTRICTS.update({m: sorted(set(d)) for m, d in municipalities.items()})
    return _DISTRICTS.get(municipality) or [municipality]


def synthetic_articles(count: int, seed: int = 7) -> list[Article]:
    """``count`` articles in a list (small loads: tests, the bulk-indexing benchmark)."""
    return list(Corpus(count, seed=seed))


def load(store: Store, articles: Iterable[Article], progress_every: int = 0) -> tuple[int, float]:
    """Index ``articles`` through ``store.upsert`` (chunked, concurrent bulk requests), with the
    refresh paused meanwhile; returns (articles indexed, seconds)."""
    store.init_indices()
    index = store.alias("articles")
    started = time.perf_counter()

    def counted() -> Iterator[Article]:
        for n, article in enumerate(articles, 1):
            if progress_every and n % progress_every == 0:
                rate = n / (time.perf_counter() - started)
                print(f"  {n:,} articles ({rate:,.0f}/s)", file=sys.stderr, flush=True)
            yield article

    store.client.request("PUT", f"/{index}/_settings", body={"index": {"refresh_interval": "-1"}})
    try:
        stats = store.upsert(counted())
    finally:
        store.client.request("PUT", f"/{index}/_settings", body={"index": {"refresh_interval": None}})
        store.refresh()
    if stats.failed or stats.spooled:
        raise RuntimeError(f"loading failed for some articles: {stats}")
    return stats.created + stats.updated + stats.unchanged, time.perf_counter() - started


def settings_with_prefix(prefix: str | None) -> Settings:
    """The CLI's settings (environment, config file), with another index prefix when given."""
    settings = get_settings()
    if prefix:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"prefix": prefix})})
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--prefix", help="Index prefix (default: the configured one, VIGIA_INDEX__PREFIX).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--replace", action="store_true", help="Delete this prefix's indices first.")
    parser.add_argument("--bursts-json", help="Also write the planted bursts to this file.")
    args = parser.parse_args()
    try:
        store = Store.from_settings(settings_with_prefix(args.prefix), replay=False)
        if args.replace:
            store.drop_indices()
        corpus = Corpus(args.articles, seed=args.seed, years=args.years)
        print(f"loading {args.articles:,} synthetic articles into {store.client.kind} ({store.alias('articles')})")
        n, seconds = load(store, corpus, progress_every=20_000)
    except VigiaError as exc:
        sys.exit(f"error: {exc}")
    print(f"{n:,} articles in {seconds:.0f} s ({n / seconds:,.0f}/s); {store.count():,} in the index")
    print("planted bursts:")
    for burst in corpus.bursts:
        print(f"  {burst.name:<15}{burst.articles:>6} articles  {burst.start:%Y-%m-%d} → {burst.end:%Y-%m-%d}  "
              f"?{burst.query().to_query_string()}")  # fmt: skip
    if args.bursts_json:
        with open(args.bursts_json, "w", encoding="utf-8") as out:
            json.dump([b.to_dict() for b in corpus.bursts], out, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
