"""A backfill that is killed mid-way resumes from its job directory without refetching pages."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import make_settings

from crawler.run import (
    CrawlResult,
    job_dir_for,
    run_crawl_subprocess,
    start_crawl_subprocess,
)
from crawler.spiders.news import CrawlPlan
from crawler.testweb.server import TestWeb, TestWebServer
from vigia.config import Settings
from vigia.store import Store

SV = ZoneInfo("America/El_Salvador")
SOURCES = ("diarioelsalvador", "gatoencerrado", "revistafactum")


def test_killed_backfill_resumes_without_refetching(settings: Settings, tmp_path: Path) -> None:
    web = TestWeb(delay_s=0.4)  # slow pages, so the kill lands mid-crawl
    expected = {a.url for s in SOURCES for a in web.fixtures.outlets[s].articles}
    with TestWebServer(web) as server:
        settings = make_settings(settings.engine.kind, prefix=settings.index.prefix)
        crawl = settings.crawl.model_copy(update={"testweb_url": server.url, "polite": False, "concurrent_total": 1})
        settings = settings.model_copy(update={"crawl": crawl})
        plan = CrawlPlan(
            mode="backfill",
            sources=SOURCES,
            since=datetime(2026, 10, 1, tzinfo=SV),
            until=datetime(2026, 11, 30, 23, 59, tzinfo=SV),
        )
        job_dir = job_dir_for(settings, plan)
        assert job_dir is not None
        try:
            child = start_crawl_subprocess(settings, plan, tmp_path)
            deadline = time.monotonic() + 120
            while len([u for u in web.fetched(200) if u in expected]) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=120) == 0, (tmp_path / "crawl.log").read_text()[-3000:]
            first = CrawlResult(**json.loads((tmp_path / "result.json").read_text()))
            assert first.close_reason == "shutdown"
            assert (job_dir / "requests.seen").exists()
            first_fetched = set(web.fetched(200))
            assert 0 < len(first_fetched & expected) < len(expected)

            mark = len(web.requests)
            second, _ = run_crawl_subprocess(settings, plan)
            assert second.close_reason == "finished"
            # robots.txt is read again by each process; every other page must not be.
            refetched = {
                r.url for r in web.requests[mark:] if r.status == 200 and r.path != "/robots.txt"
            } & first_fetched
            assert not refetched, f"pages fetched before the kill were fetched again: {sorted(refetched)}"
            store = Store(settings)
            assert store.indexed_urls(expected) == expected
            assert not job_dir.exists(), "a finished backfill clears its job directory"
        finally:
            Store(settings).drop_indices()
