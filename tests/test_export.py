"""Exports against live engines: every match, in constant memory, in every format; ACLED rows."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_store import synthetic
from typer.testing import CliRunner

from vigia.cli import app
from vigia.errors import InputError
from vigia.models import Article
from vigia.search import export, results
from vigia.search.query import Query
from vigia.store import Store

BASE = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOSTILE_TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)> Titular'


def bulk(n: int) -> Iterator[Article]:
    """``n`` articles of about 1.5 kB of text each (the data an export has to carry)."""
    body = "Vecinos de la colonia relatan lo ocurrido durante la noche. " * 25
    for i in range(n):
        yield Article(
            url=f"https://example.sv/nota/{i}",
            source="example",
            source_name="Diario de Prueba",
            title=f"Nota {i}",
            lead=f"Entrada de la nota {i}.",
            text=f"{body}Número {i}.",
            published_at=BASE + timedelta(seconds=i),
            violence_type=["homicide"] if i % 2 else ["arrest"],
            department=["San Salvador"],
        ).finalize()


def test_export_of_25000_matches_is_exact_and_in_constant_memory(store: Store, tmp_path: Path) -> None:
    total = 25_000
    store.upsert(bulk(total))
    store.refresh()
    out = tmp_path / "all.csv"
    rows, peak = measured(store, Query(stories=False), out)
    size = out.stat().st_size
    assert rows == total
    with out.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == total and len({r["url"] for r in read}) == total
    assert read[0]["title"] == f"Nota {total - 1}"  # newest first
    # One engine page (1,000 articles) in memory at a time: ten times the rows, the same peak.
    tenth = Query(until=(BASE + timedelta(seconds=total // 10 - 1)).isoformat())
    rows_tenth, peak_tenth = measured(store, tenth, tmp_path / "tenth.csv")
    assert rows_tenth == total // 10
    assert size > 35_000_000 and peak < size / 2 and peak < 1.5 * peak_tenth, (peak, peak_tenth, size)

    parquet = tmp_path / "all.parquet"
    with parquet.open("wb") as handle:
        assert export.write(results.scan(store, Query()), "parquet", handle) == total
    meta = pq.ParquetFile(parquet).metadata
    assert meta.num_rows == total and meta.num_row_groups > 10  # written batch by batch
    table = pq.read_table(parquet, columns=["url", "violence_type"])
    assert table.num_rows == total and table.column("violence_type")[0].as_py() == ["homicide"]  # 24,999: odd


def measured(store: Store, query: Query, out: Path) -> tuple[int, int]:
    """Rows exported to CSV and the peak of Python memory while exporting them."""
    tracemalloc.start()
    try:
        with out.open("wb") as handle:
            rows = export.write(results.scan(store, query), "csv", handle)
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_acled_rows_field_by_field(store: Store) -> None:
    articles = [
        Article(
            url="https://example.sv/a",
            source="example",
            source_name="Diario de Prueba",
            title="Asesinan a comerciante en Soyapango",
            lead="Sujetos armados atacaron al hombre.",
            published_at=datetime(2025, 3, 1, 4, 30, tzinfo=UTC),  # 22:30 on 28 Feb in El Salvador
            violence_type=["extortion", "homicide"],
            actor=["civilians", "ms13"],
            department=["San Salvador"],
            municipality=["San Salvador Este"],
        ),
        Article(
            url="https://example.sv/b",
            source="example",
            title='=HYPERLINK("http://x")',
            published_at=datetime(2025, 3, 2, 18, 0, tzinfo=UTC),
            violence_type=["arrest"],
            actor=["ms13", "police"],
            department=["La Libertad"],
        ),
        Article(url="https://example.sv/c", source="example", title="Sin etiquetas", published_at=BASE),
    ]
    store.upsert(a.finalize() for a in articles)
    store.refresh()
    text = b"".join(export.text_chunks(results.scan(store, Query()), "acled")).decode()
    rows = {r["source_url"]: r for r in csv.DictReader(io.StringIO(text))}
    assert text.splitlines()[0] == ",".join(export.ACLED_COLUMNS)
    a = rows["https://example.sv/a"]
    assert a == {
        "event_id_cnty": f"VIGIA-{articles[0].id[:12]}",
        "event_date": "2025-02-28",
        "year": "2025",
        "event_type": "Violence against civilians",  # homicide outranks extortion
        "sub_event_type": "Attack",
        "actor1": "MS-13 (Mara Salvatrucha)",  # perpetrators before victims
        "actor2": "Civilians (El Salvador)",
        "country": "El Salvador",
        "admin1": "San Salvador",
        "admin2": "San Salvador Este",
        "source": "Diario de Prueba",
        "source_url": "https://example.sv/a",
        "notes": "Asesinan a comerciante en Soyapango. Sujetos armados atacaron al hombre.",
        "tags": "extortion;homicide;civilians;ms13",
    }
    b = rows["https://example.sv/b"]
    assert (b["event_type"], b["sub_event_type"]) == ("Strategic developments", "Arrests")
    assert (b["actor1"], b["actor2"]) == ("Police Forces of El Salvador", "MS-13 (Mara Salvatrucha)")  # the state acts
    assert (b["admin1"], b["admin2"], b["source"]) == ("La Libertad", "", "example")
    assert b["notes"] == '\'=HYPERLINK("http://x").'  # a formula is text to a spreadsheet
    c = rows["https://example.sv/c"]
    assert (c["event_type"], c["sub_event_type"], c["actor1"], c["actor2"]) == ("", "", "", "")


def test_csv_cells_are_guarded_and_hostile_text_stays_literal() -> None:
    assert [export.safe_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", "")] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok", "",
    ]  # fmt: skip
    hostile = dataclasses.replace(synthetic(1), title=HOSTILE_TITLE, lead="-cmd|' /C calc'!A0")
    text = b"".join(export.text_chunks([hostile], "csv")).decode()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["title"] == HOSTILE_TITLE and row["lead"] == "'-cmd|' /C calc'!A0"
    line = json.loads(b"".join(export.text_chunks([hostile], "jsonl")))
    assert line["title"] == HOSTILE_TITLE
    with pytest.raises(InputError, match="use one of: csv, jsonl, parquet, acled"):
        export.check_format("xlsx")


def test_cli_export_writes_through_a_temporary_file(cli_store: Store, tmp_path: Path) -> None:
    cli_store.upsert(synthetic(i) for i in range(30))
    cli_store.refresh()
    out = tmp_path / "arrests.jsonl"
    result = CliRunner().invoke(app, ["export", "extorsión", "--type", "arrest", "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 15 and all("arrest" in line["violence_type"] for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrests.jsonl"]  # no temporary left behind
    assert "15 articles" in result.output
    bad = CliRunner().invoke(app, ["export", "--format", "xls", "-o", str(tmp_path / "x.xls")])
    assert bad.exit_code == 2 and "use one of: csv, jsonl, parquet, acled" in bad.output
    folder = CliRunner().invoke(app, ["export", "-o", str(tmp_path / "new" / "x.csv")])
    assert folder.exit_code == 0 and (tmp_path / "new" / "x.csv").is_file()  # a missing folder is made
    directory = CliRunner().invoke(app, ["export", "-o", str(tmp_path)])
    assert directory.exit_code == 2 and "is a directory" in directory.output
