"""Running a crawl: Scrapy settings from Vigía's settings, the run itself, crawl records.

``run_crawl`` runs in this process (the Twisted reactor starts once per process, so once per
process only: the CLI). ``run_crawl_subprocess`` runs it in a child process (tests, the demo,
benchmarks) and returns the same result.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from crawler.records import RunStats
from crawler.registry import Registry, load_registry
from crawler.settings import for_run
from crawler.spiders.news import CrawlPlan
from vigia.config import Settings
from vigia.errors import EngineResponseError, EngineUnavailable, InputError, VigiaError
from vigia.models import Article

if TYPE_CHECKING:
    from vigia.store import Store

log = logging.getLogger(__name__)

# `vigia crawl` exits with this when the run finished but the engine became unreachable.
EXIT_SPOOLED = 3


class CrawlError(VigiaError):
    """A crawl in a child process failed; the message carries the end of its log."""


@dataclass
class CrawlResult:
    run_id: str
    mode: str
    close_reason: str
    elapsed_s: float
    records: list[dict[str, Any]]
    stage_rates: dict[str, float] = field(default_factory=dict)
    job_dir: str | None = None
    records_spooled: int = 0  # the engine was unreachable: records (and articles) wait in the spool

    def total(self, name: str) -> int:
        return sum(r.get(name, 0) for r in self.records)

    @property
    def spooled(self) -> bool:
        return self.records_spooled > 0 or self.total("spooled") > 0

    def errors(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for record in self.records:
            for kind, n in record["errors"].items():
                totals[kind] = totals.get(kind, 0) + n
        return totals


def job_dir_for(settings: Settings, plan: CrawlPlan) -> Path | None:
    """Backfills keep Scrapy's job state here, so the same command resumes after an interruption."""
    if plan.mode != "backfill":
        return None
    day = lambda d: d.date().isoformat() if d else "open"  # noqa: E731
    sources = "-".join(plan.sources) or "all"
    return settings.home / "crawl-jobs" / f"backfill-{sources}-{day(plan.since)}-{day(plan.until)}"


def check_plan(plan: CrawlPlan, registry: Registry) -> None:
    """Bad plans fail before anything starts, with the fix in the message."""
    for source in plan.sources:
        registry.get(source)  # an InputError names the known ids
    if plan.mode == "url":
        if not plan.url or not plan.url.startswith(("http://", "https://")):
            raise InputError(f"--url needs an http(s) URL, got {plan.url!r}")
        if registry.source_for(plan.url) is None:
            raise InputError(
                f"{plan.url} is not on any registry outlet's domains; add the outlet to crawler/sources.yaml first"
            )
    if plan.since and plan.until and plan.since > plan.until:
        raise InputError(f"--since {plan.since.date()} is after --until {plan.until.date()}")


class SpoolingLookup:
    """The spider's "already indexed?" look-up. After the first failure (the engine is down, its
    retries spent) every URL counts as new and the store spools: the run goes on at its normal
    pace instead of blocking the reactor ~13 s per look-up; the replay deduplicates exactly,
    since article ids are derived from the URL."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, urls: list[str]) -> dict[str, Article]:
        if self.store.offline:
            return {}
        try:
            return self.store.get_articles(urls)
        except (EngineUnavailable, EngineResponseError) as exc:
            if isinstance(exc, EngineResponseError) and exc.status < 500 and exc.status != 429:
                raise
            self.store.go_offline(exc)
            return {}


def run_crawl(settings: Settings, plan: CrawlPlan, fetch_only: bool = False, log_level: str = "INFO") -> CrawlResult:
    """Crawl in this process (starts the Twisted reactor: once per process)."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from classifiers.loader import load_tagger
    from crawler.spiders.news import NewsSpider
    from vigia.pipeline import ArticlePipeline
    from vigia.pipeline.stories import StoryClusterer
    from vigia.store import Store

    registry = load_registry()
    check_plan(plan, registry)
    store = Store.from_settings(settings)
    store.init_indices()
    stats = RunStats(mode=plan.mode)
    clusterer = None if fetch_only else StoryClusterer.open(StoryClusterer.default_path(settings))
    pipeline = None
    if clusterer is not None:
        tagger = load_tagger(settings)
        pipeline = ArticlePipeline(
            store, registry.outlets(), tagger, clusterer, extract_processes=settings.crawl.extract_processes
        )
    job_dir = job_dir_for(settings, plan)
    process = CrawlerProcess(for_run(settings, registry, job_dir, log_level))
    crawler = process.create_crawler(NewsSpider)
    closed: dict[str, str] = {}

    def count_request(request: Any, **_: Any) -> None:
        source = request.meta.get("source") or getattr(registry.source_for(request.url), "id", None)
        if source:  # robots.txt requests carry no meta: they count for the host's outlet
            stats.count(source, "requests")

    def spider_closed(reason: str, **_: Any) -> None:
        closed["reason"] = reason

    # Scrapy holds signal receivers weakly: these locals live until the crawl ends.
    crawler.signals.connect(count_request, signal=signals.request_reached_downloader)
    crawler.signals.connect(spider_closed, signal=signals.spider_closed)
    lookup = (lambda urls: {}) if plan.mode == "url" else SpoolingLookup(store)
    started = time.perf_counter()
    process.crawl(
        crawler,
        plan=plan,
        registry=registry,
        lookup=lookup,
        stats=stats,
        article_pipeline=pipeline,
        max_response_bytes=settings.crawl.max_response_bytes,
    )
    process.start()
    elapsed = time.perf_counter() - started
    if pipeline is not None and clusterer is not None:
        pipeline.close()
        clusterer.save()
    records = stats.records(registry)
    ids = [f"{r['run_id']}-{r['source']}" for r in records]
    records_spooled = store.index_records("crawls", records, ids=ids, spool=True) if records else 0
    if not store.offline:
        try:
            store.refresh("articles")
            store.refresh("crawls")
        except EngineUnavailable as exc:
            store.go_offline(exc)
    reason = closed.get("reason", "unknown")
    if job_dir is not None and reason == "finished":
        shutil.rmtree(job_dir, ignore_errors=True)  # done: the next backfill starts afresh
    return CrawlResult(
        run_id=stats.run_id,
        mode=plan.mode,
        close_reason=reason,
        elapsed_s=elapsed,
        records=records,
        stage_rates=pipeline.times.rates() if pipeline else {},
        job_dir=str(job_dir) if job_dir else None,
        records_spooled=records_spooled,
    )


# -- child process -----------------------------------------------------------------------
def _plan_to_json(plan: CrawlPlan) -> dict[str, Any]:
    data = asdict(plan)
    for key in ("since", "until"):
        data[key] = data[key].isoformat() if data[key] else None
    data["sources"] = list(plan.sources)
    return data


def _plan_from_json(data: dict[str, Any]) -> CrawlPlan:
    for key in ("since", "until"):
        data[key] = datetime.fromisoformat(data[key]) if data[key] else None
    data["sources"] = tuple(data["sources"])
    return CrawlPlan(**data)


def _settings_file(settings: Settings, directory: Path) -> Path:
    """The settings as a config file for the child (secrets included: the file is private)."""

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    path = directory / "settings.json"
    path.write_text(json.dumps(settings.model_dump(), default=plain))
    path.chmod(0o600)
    return path


def start_crawl_subprocess(
    settings: Settings, plan: CrawlPlan, workdir: Path, fetch_only: bool = False
) -> subprocess.Popen[bytes]:
    """Start a crawl in a child process; its result lands in ``workdir/result.json``, its log in
    ``workdir/crawl.log``. Used directly by tests that interrupt a crawl."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")}
    env["VIGIA_CONFIG"] = str(_settings_file(settings, workdir))
    (workdir / "plan.json").write_text(json.dumps(_plan_to_json(plan)))
    command = [sys.executable, "-m", "crawler.run", str(workdir)] + (["--fetch-only"] if fetch_only else [])
    log_file = (workdir / "crawl.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def run_crawl_subprocess(
    settings: Settings, plan: CrawlPlan, fetch_only: bool = False, timeout_s: float = 600
) -> tuple[CrawlResult, str]:
    """Crawl in a child process; returns the result and the crawl's log text."""
    with tempfile.TemporaryDirectory(prefix="vigia-crawl-") as tmp:
        workdir = Path(tmp)
        child = start_crawl_subprocess(settings, plan, workdir, fetch_only)
        child.wait(timeout=timeout_s)
        log_text = (workdir / "crawl.log").read_text(errors="replace")
        result_file = workdir / "result.json"
        if child.returncode != 0 or not result_file.exists():
            raise CrawlError(f"crawl subprocess failed (exit {child.returncode}):\n{log_text[-4000:]}")
        return CrawlResult(**json.loads(result_file.read_text())), log_text


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    from vigia.config import get_settings

    plan = _plan_from_json(json.loads((workdir / "plan.json").read_text()))
    result = run_crawl(get_settings(), plan, fetch_only="--fetch-only" in argv)
    (workdir / "result.json").write_text(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
