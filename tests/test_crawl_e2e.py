"""End to end: the registry-driven crawler against the test web, into live engines.

One crawl per engine (module scope, faults on) serves most checks; the second crawl goes
through the real ``vigia crawl`` CLI, and the request log of the test web proves what the
crawler did (and did not) fetch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ENGINES, make_settings

from crawler.run import CrawlResult, _settings_file, run_crawl_subprocess
from crawler.spiders.news import CrawlPlan
from crawler.testweb.server import (
    FLAKY_SOURCE,
    NOT_HTML,
    OFF_REGISTRY,
    OVERSIZED,
    RETRY_AFTER_SOURCE,
    ROBOTS_DISALLOWED,
    TRAP_SOURCE,
    TestWeb,
    TestWebServer,
)
from vigia.config import Settings
from vigia.store import Store

MAX_BYTES = 1_000_000
LISTING_BOUND = 6
RETRY_AFTER_S = 2
VIGIA = Path(sys.executable).with_name("vigia")


@dataclass
class Crawled:
    settings: Settings
    store: Store
    web: TestWeb
    result: CrawlResult
    log: str


def crawl_settings(kind: str, testweb_url: str, **crawl: object) -> Settings:
    settings = make_settings(kind)  # type: ignore[arg-type]
    options = {
        "testweb_url": testweb_url,
        "polite": False,
        "max_response_bytes": MAX_BYTES,
        "max_listing_pages": LISTING_BOUND,
        "revisit_hours": 0,
        **crawl,
    }
    return settings.model_copy(update={"crawl": settings.crawl.model_copy(update=options)})


def plan_for(settings: Settings, **changes: object) -> CrawlPlan:
    base = {"revisit_hours": settings.crawl.revisit_hours, "max_listing_pages": settings.crawl.max_listing_pages}
    return CrawlPlan(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=ENGINES)
def crawled(request: pytest.FixtureRequest, running_engines: dict) -> Iterator[Crawled]:
    web = TestWeb(faults=True, oversize_bytes=2 * MAX_BYTES, retry_after_s=RETRY_AFTER_S)
    with TestWebServer(web) as server:
        settings = crawl_settings(request.param, server.url)
        store = Store(settings)
        result, log = run_crawl_subprocess(settings, plan_for(settings))
        yield Crawled(settings, store, web, result, log)
        store.drop_indices()
        store.close()


def statuses(web: TestWeb, url: str) -> list[int]:
    return [r.status for r in web.requests if r.url == url]


def test_every_fixture_article_is_found_and_indexed_exactly_once(crawled: Crawled) -> None:
    web, store = crawled.web, crawled.store
    expected = set(web.article_urls)
    assert store.indexed_urls(expected) == expected
    assert store.count() == len(expected)
    fetched_ok = [url for url in web.fetched(200) if url in expected]
    assert sorted(fetched_ok) == sorted(expected), "each article page is downloaded once"
    assert crawled.result.total("new") == len(expected)
    assert crawled.result.close_reason == "finished"


def test_robots_disallow_is_respected(crawled: Crawled) -> None:
    assert ROBOTS_DISALLOWED not in [r.url for r in crawled.web.requests]
    assert crawled.result.errors().get("robots") == 1


def test_retry_after_delays_the_retry(crawled: Crawled) -> None:
    url = crawled.web.newest(RETRY_AFTER_SOURCE).url
    hits = [r for r in crawled.web.requests if r.url == url]
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= RETRY_AFTER_S - 0.05


def test_a_500_is_retried_until_200(crawled: Crawled) -> None:
    url = crawled.web.newest(FLAKY_SOURCE).url
    assert statuses(crawled.web, url) == [500, 200]
    assert crawled.store.indexed_urls([url]) == {url}


def test_oversized_and_non_html_responses_are_dropped_with_a_reason(crawled: Crawled) -> None:
    errors = crawled.result.errors()
    assert errors.get("too_large") == 1 and errors.get("non_html") == 1
    assert f"{OVERSIZED} failed (too_large)" in crawled.log
    assert "larger than download max size (1000000)" in crawled.log
    assert f"dropped {NOT_HTML}: not HTML (application/pdf)" in crawled.log
    assert not crawled.store.indexed_urls([OVERSIZED, NOT_HTML])


def test_off_registry_links_are_not_followed(crawled: Crawled) -> None:
    off_host = urlsplit(OFF_REGISTRY).hostname
    assert not [r for r in crawled.web.requests if r.host == off_host]
    assert sum(r["offsite_links"] for r in crawled.result.records) >= 1


def test_endless_pagination_stops_at_the_bound(crawled: Crawled) -> None:
    listing = urlsplit(crawled.web.fixtures.registry.get(TRAP_SOURCE).discovery[2].url).path
    pages = [r for r in crawled.web.requests if (r.path.startswith(listing) and "page=" in r.path) or r.path == listing]
    assert len(pages) == LISTING_BOUND
    record = next(r for r in crawled.result.records if r["source"] == TRAP_SOURCE)
    assert record["listing_bound"] == 1


def test_crawl_records_are_indexed_per_source(crawled: Crawled) -> None:
    body = {"size": 100, "query": {"term": {"run_id": crawled.result.run_id}}}
    hits = crawled.store.search_raw("crawls", body)["hits"]["hits"]
    by_source = {h["_source"]["source"]: h["_source"] for h in hits}
    assert set(by_source) == set(crawled.web.fixtures.registry.ids)
    assert by_source["elfaro"]["new"] == len(crawled.web.fixtures.outlets["elfaro"].articles) + len(
        crawled.web.fixtures.outlets["elfaro"].real_pages
    )
    assert by_source["elfaro"]["requests"] > by_source["elfaro"]["new"]
    assert by_source["elfaro"]["last_success_at"]


def run_cli(settings: Settings, *args: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")}
    env["VIGIA_CONFIG"] = str(_settings_file(settings, workdir))
    return subprocess.run([str(VIGIA), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_second_crawl_adds_nothing_and_requests_no_indexed_article(crawled: Crawled, tmp_path: Path) -> None:
    web, store = crawled.web, crawled.store
    before, count = len(web.requests), store.count()
    done = run_cli(crawled.settings, "crawl", workdir=tmp_path)
    assert done.returncode == 0, done.stderr
    second = {r.url for r in web.requests[before:]}
    assert not second & set(web.article_urls), "already-indexed articles were requested again"
    assert store.count() == count
    hits = store.search_raw("crawls", {"size": 100, "query": {"term": {"mode": "incremental"}}})["hits"]["hits"]
    latest = max(h["_source"]["finished_at"] for h in hits)
    assert sum(h["_source"]["new"] for h in hits if h["_source"]["finished_at"] == latest) == 0


def test_changed_text_is_revisited_and_becomes_revision_2(crawled: Crawled) -> None:
    web, store = crawled.web, crawled.store
    changed = web.newest("elfaro").url
    web.change(changed)
    settings = crawled.settings.model_copy(
        update={"crawl": crawled.settings.crawl.model_copy(update={"revisit_hours": 24 * 365 * 10})}
    )
    before = len(web.requests)
    result, _ = run_crawl_subprocess(settings, plan_for(settings, sources=("elfaro",)))
    assert result.total("updated") == 1
    article = store.get_articles([changed])[changed]
    assert article.revision == 2 and article.previous_versions
    revisits = [r for r in web.requests[before:] if r.url in web.article_urls]
    assert revisits and all(r.conditional for r in revisits)
    assert result.total("not_modified") == len([r for r in revisits if r.status == 304]) >= 1


def test_sources_status_json_has_a_row_per_outlet(crawled: Crawled, tmp_path: Path) -> None:
    done = run_cli(crawled.settings, "sources", "status", "--json", workdir=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert set(rows) == set(crawled.web.fixtures.registry.ids)
    outlets = crawled.web.fixtures.outlets
    for source_id, row in rows.items():
        assert {"id", "name", "articles_total", "last_article_at", "errors_24h"} <= set(row)
        assert row["articles_total"] == len(outlets[source_id].articles) + len(outlets[source_id].real_pages)
    assert rows["lapagina"]["errors_24h"] >= 1  # the oversized page
    assert rows["elfaro"]["last_article_at"] is not None


def test_url_mode_fetches_one_page(crawled: Crawled) -> None:
    url = crawled.web.newest("pnc").url
    before = len(crawled.web.requests)
    result, _ = run_crawl_subprocess(crawled.settings, plan_for(crawled.settings, mode="url", url=url))
    assert [r.url for r in crawled.web.requests[before:] if r.path != "/robots.txt"] == [url]
    assert result.total("unchanged") == 1
