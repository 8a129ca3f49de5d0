"""Every match of a query written out: CSV, JSON lines, Parquet, or an ACLED-style CSV.

Articles come from :func:`vigia.search.results.scan` (a point in time, one page in memory) and
leave in small chunks, so memory stays flat whether a search matches 25 articles or 2 million.
The text writers are generators of byte chunks: the CLI writes them to a file, the web page
streams them as a download. Crawled text is hostile: CSV cells that a spreadsheet would run as a
formula get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import IO, Any, Literal

import yaml

from vigia.errors import InputError
from vigia.models import LOCAL_TZ, Article

Format = Literal["csv", "jsonl", "parquet", "acled"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet", "acled")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "acled": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
# Cells starting with these are formulas (or DDE) to spreadsheets: CWE-1236.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_ROWS = 500  # rows per chunk of text / batch of Parquet

CSV_COLUMNS = [
    "id", "published_at", "source", "source_name", "url", "title", "lead", "text", "violence_type", "actor",
    "department", "municipality", "in_el_salvador", "language", "story_cluster", "revision", "label_scores",
]  # fmt: skip
ACLED_COLUMNS = [
    "event_id_cnty", "event_date", "year", "event_type", "sub_event_type", "actor1", "actor2", "country",
    "admin1", "admin2", "source", "source_url", "notes", "tags",
]  # fmt: skip


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise InputError(f"export format {fmt!r} is not known; use one of: {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: formula starters get a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def local_time(article: Article) -> str:
    return article.published_at.astimezone(LOCAL_TZ).isoformat() if article.published_at else ""


def csv_row(article: Article) -> list[str]:
    """One article as the cells of :data:`CSV_COLUMNS` (lists joined with ``;``)."""
    return [
        article.id, local_time(article), article.source, article.source_name, article.url, article.title,
        article.lead, article.text, ";".join(article.violence_type), ";".join(article.actor),
        ";".join(article.department), ";".join(article.municipality),
        "" if article.in_el_salvador is None else str(article.in_el_salvador).lower(), article.language or "",
        article.story_cluster or "", str(article.revision), json.dumps(article.label_scores, sort_keys=True),
    ]  # fmt: skip


# -- ACLED ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AcledMapping:
    """The shipped mapping (``acled.yaml``): violence type → event type, actor id → name."""

    event_types: dict[str, tuple[str, str]]
    actors: dict[str, str]
    state_types: frozenset[str]
    state_actors: tuple[str, ...]

    def event(self, article: Article) -> tuple[str, str]:
        """The event and sub-event type of the most severe violence type the article carries."""
        return next((self.event_types[t] for t in self.event_types if t in article.violence_type), ("", ""))

    def actor_pair(self, article: Article) -> tuple[str, str]:
        """actor1 and actor2: the article's actors in the mapping's order (state actors first
        when the state is the one acting: arrests, seizures, abuses)."""
        order = list(self.actors)
        lead_type = next((t for t in self.event_types if t in article.violence_type), None)
        if lead_type in self.state_types:
            order = [*self.state_actors, *(a for a in order if a not in self.state_actors)]
        names = [self.actors[a] for a in order if a in article.actor]
        return (names + ["", ""])[0], (names + ["", ""])[1]

    def row(self, article: Article) -> list[str]:
        event_type, sub_event_type = self.event(article)
        actor1, actor2 = self.actor_pair(article)
        day = article.published_at.astimezone(LOCAL_TZ).date() if article.published_at else None
        notes = ". ".join(p.strip().rstrip(".") for p in (article.title, article.lead) if p.strip())
        return [
            f"VIGIA-{article.id[:12]}", day.isoformat() if day else "", str(day.year) if day else "", event_type,
            sub_event_type, actor1, actor2, "El Salvador", (article.department or [""])[0],
            (article.municipality or [""])[0], article.source_name or article.source, article.url,
            notes + "." if notes else "", ";".join(article.violence_type + article.actor),
        ]  # fmt: skip


@lru_cache(maxsize=1)
def acled_mapping() -> AcledMapping:
    data = yaml.safe_load(resources.files("vigia.search").joinpath("acled.yaml").read_text(encoding="utf-8"))
    return AcledMapping(
        event_types={k: (v[0], v[1]) for k, v in data["event_types"].items()},
        actors=dict(data["actors"]),
        state_types=frozenset(data["state_first"]["types"]),
        state_actors=tuple(data["state_first"]["actors"]),
    )


# -- writers --------------------------------------------------------------------------------
def text_chunks(articles: Iterable[Article], fmt: Format) -> Iterator[bytes]:
    """CSV, ACLED CSV or JSON lines as UTF-8 chunks of a few hundred rows (header first)."""
    if fmt == "jsonl":
        yield from _chunked(json.dumps(a.to_doc(), ensure_ascii=False) + "\n" for a in articles)
        return
    if fmt not in ("csv", "acled"):
        raise InputError(f"{fmt} is not a text format; use csv, acled or jsonl")
    columns, make_row = (CSV_COLUMNS, csv_row) if fmt == "csv" else (ACLED_COLUMNS, acled_mapping().row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)

    def rows() -> Iterator[str]:
        for article in articles:
            writer.writerow([safe_cell(cell) for cell in make_row(article)])
            yield _drain(buffer)

    yield _drain(buffer).encode()
    yield from _chunked(rows())


def write(
    articles: Iterable[Article], fmt: Format, out: IO[bytes], progress: Callable[[int], None] | None = None
) -> int:
    """Write every article to ``out`` in ``fmt``; returns the number of rows. ``progress`` is
    called with the rows written since its last call."""
    counted = _counting(articles, progress)
    if fmt == "parquet":
        _write_parquet(counted, out)
    else:
        for chunk in text_chunks(counted, fmt):
            out.write(chunk)
    return counted.total


def _write_parquet(articles: Iterable[Article], out: IO[bytes]) -> None:
    """Parquet in row groups of a few hundred articles: one batch in memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text, strings = pa.string(), pa.list_(pa.string())
    schema = pa.schema(
        [
            ("id", text), ("published_at", pa.timestamp("ms", tz="UTC")), ("source", text), ("source_name", text),
            ("url", text), ("title", text), ("lead", text), ("text", text), ("violence_type", strings),
            ("actor", strings), ("department", strings), ("municipality", strings), ("in_el_salvador", pa.bool_()),
            ("language", text), ("story_cluster", text), ("revision", pa.int32()),
            ("label_scores", pa.map_(pa.string(), pa.float32())),
        ]
    )  # fmt: skip
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for article in articles:
            doc = {name: getattr(article, name, None) for name in schema.names}
            doc["id"], doc["label_scores"] = article.id, list(article.label_scores.items())
            batch.append(doc)
            if len(batch) == _CHUNK_ROWS:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
                batch.clear()
        if batch:
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))


class _counting:
    """An iterable of articles that counts what passes through and reports it in steps."""

    def __init__(self, articles: Iterable[Article], progress: Callable[[int], None] | None) -> None:
        self.articles, self.progress, self.total = articles, progress, 0

    def __iter__(self) -> Iterator[Article]:
        step = 0
        for article in self.articles:
            self.total += 1
            step += 1
            if self.progress and step == _CHUNK_ROWS:
                self.progress(step)
                step = 0
            yield article
        if self.progress and step:
            self.progress(step)


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) == _CHUNK_ROWS:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()
