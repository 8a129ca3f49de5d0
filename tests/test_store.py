"""The storage layer against live Elasticsearch and OpenSearch servers (no mocks)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ENGINES, REPO, SPARE_PORTS, TEST_PORTS, make_settings
from pydantic import SecretStr

from vigia.engine import local_engine
from vigia.errors import StoreError
from vigia.models import Article
from vigia.search import results
from vigia.search.query import Query
from vigia.store import Store

BASE_DATE = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
DEPARTMENTS = ["San Salvador", "La Libertad", "San Miguel", "Sonsonate"]


def synthetic(i: int, text: str | None = None) -> Article:
    return Article(
        url=f"https://www.example.sv/nota/{i}?utm_source=feed",
        source="example",
        source_name="Diario de Prueba",
        title=f"Capturan a dos pandilleros en Soyapango, caso {i}",
        text=text or f"Agentes de la Policía capturaron a dos pandilleros por extorsión. Caso número {i}.",
        published_at=BASE_DATE + timedelta(hours=i),
        violence_type=["arrest", "extortion"] if i % 2 else ["homicide"],
        actor=["police"],
        department=[DEPARTMENTS[i % len(DEPARTMENTS)]],
        label_scores={"arrest": 0.9, "homicide": 0.1},
    ).finalize()


def test_init_indices_is_idempotent(store: Store) -> None:
    first = store.init_indices()
    second = store.init_indices()
    assert first == second == [store.alias(n) for n in store.templates()]
    aliases = store.client.request("GET", f"/_alias/{store.alias('articles')}")
    assert list(aliases) == [f"{store.alias('articles')}-000001"]
    assert aliases[f"{store.alias('articles')}-000001"]["aliases"][store.alias("articles")]["is_write_index"]


def test_mapping_covers_every_article_field(store: Store) -> None:
    properties = store.templates()["articles"]["template"]["mappings"]["properties"]
    assert {f.name for f in dataclasses.fields(Article)} == set(properties)


def test_bulk_upsert_then_reupsert_keeps_count_and_bumps_changed_revisions(store: Store) -> None:
    stats = store.upsert(synthetic(i) for i in range(1000))
    assert (stats.created, stats.updated, stats.spooled) == (1000, 0, 0)
    store.refresh()
    assert store.count() == 1000

    changed = set(range(0, 1000, 10))
    again = [
        synthetic(i, text="Texto corregido: el fallecido era un vendedor." if i in changed else None)
        for i in range(1000)
    ]
    stats = store.upsert(again)
    assert (stats.created, stats.updated, stats.unchanged) == (0, len(changed), 1000 - len(changed))
    store.refresh()
    assert store.count() == 1000
    revisions = {a.url: a.revision for a in results.scan(store, Query())}
    assert {url for url, rev in revisions.items() if rev == 2} == {synthetic(i).url for i in changed}
    assert set(revisions.values()) == {1, 2}
    updated = store.get_articles([synthetic(10).url])[synthetic(10).url]
    assert [v.content_hash for v in updated.previous_versions] == [synthetic(10).content_hash]


def test_url_variants_are_one_document(store: Store) -> None:
    variants = [
        "http://example.sv/nota/7",
        "https://www.example.sv/nota/7/",
        "https://example.sv/nota/7?utm_medium=x#top",
    ]
    for url in variants:
        store.upsert([dataclasses.replace(synthetic(7), url=url)])
    store.refresh()
    assert store.count() == 1
    assert store.indexed_urls(variants + ["https://example.sv/nota/8"]) == set(variants)


def test_spanish_analysis_or_fallback_warning(settings, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(settings)
    with caplog.at_level(logging.WARNING, logger="vigia.store"):
        store.init_indices()
    try:
        store.upsert([Article(url="https://example.sv/a", source="x", title="Policías capturados en Apopa",
                              text="Los agentes capturaron a tres sujetos.").finalize()])  # fmt: skip
        store.refresh()
        if settings.engine.kind == "opensearch":
            assert store.analysis_mode == "spanish" and not caplog.records
            assert (
                results.search(store, Query(text="policia capturado", stories=False)).total == 1
            )  # accent-insensitive and stemmed
        else:
            warnings = [r for r in caplog.records if "lacks Spanish analysis" in r.getMessage()]
            assert store.analysis_mode == "fallback" and len(warnings) == 1
            assert results.search(store, Query(text="policías", stories=False)).total == 1
            assert results.search(store, Query(text="de los", stories=False)).total == 0  # Spanish stop words only
    finally:
        store.drop_indices()


def test_wrong_credentials_give_a_clear_error(settings) -> None:
    if settings.engine.kind != "elasticsearch":
        pytest.skip("the local OpenSearch runs without the security plugin")
    bad = settings.model_copy(
        update={"engine": settings.engine.model_copy(update={"username": "vigia", "password": SecretStr("wrong")})}
    )
    with pytest.raises(StoreError, match="refused the credentials") as error:
        Store(bad).init_indices()
    assert f"127.0.0.1:{TEST_PORTS['elasticsearch_port']}" in str(error.value)
    assert "VIGIA_ENGINE__PASSWORD" in str(error.value)

    env = {"VIGIA_HOME": str(settings.home), "VIGIA_ENGINE__ELASTICSEARCH_PORT": str(TEST_PORTS["elasticsearch_port"]),
           "VIGIA_ENGINE__USERNAME": "vigia", "VIGIA_ENGINE__PASSWORD": "wrong", "PATH": "/usr/bin:/bin"}  # fmt: skip
    cli = subprocess.run(
        [sys.executable, "-m", "vigia", "index", "init"], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert cli.returncode == 2
    assert "refused the credentials" in cli.stderr and "Traceback" not in cli.stderr


@pytest.mark.parametrize("kind", ENGINES)
def test_engine_stopped_mid_bulk_spools_then_replays_exactly_once(tmp_path: Path, kind: str) -> None:
    """A dedicated engine (own home and port) is stopped while a bulk upsert runs."""
    home = tmp_path
    settings = make_settings(kind, home=home, **SPARE_PORTS, max_retries=1, bulk_max_bytes=64 * 1024)
    engine = local_engine(settings)
    engine.start()
    try:
        store = Store(settings)
        store.init_indices()
        articles = [synthetic(i, text="Texto largo de prueba. " * 40) for i in range(3000)]
        outcome = {}
        writer = threading.Thread(target=lambda: outcome.setdefault("stats", store.upsert(articles)))
        writer.start()
        while store.count() == 0:  # the first chunks are in: now the engine goes away
            time.sleep(0.05)
        engine.stop()
        writer.join()
        stats = outcome["stats"]
        assert stats.spooled > 0 and stats.created + stats.spooled >= 3000
        assert store.spool.pending()

        engine.start()
        replayed = Store.from_settings(settings)
        replayed.refresh()
        assert replayed.count() == 3000
        assert not replayed.spool.pending()
        assert {a.revision for a in results.scan(replayed, Query())} == {1}
        Store.from_settings(settings).refresh()  # a second connection finds nothing left to replay
        assert replayed.count() == 3000
    finally:
        engine.stop()
        shutil.rmtree(engine.dir, ignore_errors=True)


def test_spool_file_is_json_lines(tmp_path: Path) -> None:
    settings = make_settings("elasticsearch", home=tmp_path)
    store = Store(settings)
    store.spool.append([synthetic(1), synthetic(2)])
    lines = settings.spool_path.read_text().splitlines()
    assert [json.loads(line)["url"] for line in lines] == [synthetic(1).url, synthetic(2).url]
