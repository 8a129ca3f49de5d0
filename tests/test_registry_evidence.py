"""The registry against the real web: the evidence file's real article URLs are recognised by
exactly one outlet, its real non-article URLs are rejected, and the test web's article URLs
follow real shapes. Also `vigia sources check` and `vigia sources verify` (against the test web).

The evidence (``../shared/registry-evidence/outlets.json``) is read from ``shared`` at run time,
never copied; without it these checks skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings

from crawler.registry import Registry, load_registry
from crawler.run import _settings_file
from crawler.testweb.fixtures import Fixtures
from crawler.testweb.server import ROBOTS_DISALLOWED, TestWeb, TestWebServer
from crawler.verify import Fetcher, verify_sources
from vigia.models import doc_id

GOAL = 0.95
VIGIA = Path(sys.executable).with_name("vigia")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def evidence(shared: Path) -> dict[str, Any]:
    path = shared / "registry-evidence" / "outlets.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the registry evidence is needed for this check")
    return json.loads(path.read_text(encoding="utf-8"))["outlets"]


def _urls(evidence: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """(evidence outlet, URL) pairs; the file annotates some URLs after a space."""
    return [(outlet, url.split(" ", 1)[0]) for outlet, entry in evidence.items() for url in entry[key]]


def test_real_article_urls_are_recognised_by_exactly_one_outlet(registry: Registry, evidence: dict[str, Any]) -> None:
    urls = _urls(evidence, "article_urls")
    checks = [(outlet, registry.check(url)) for outlet, url in urls]
    missed = [(outlet, c.url, c.reason) for outlet, c in checks if not c.is_article]
    share = 1 - len(missed) / len(urls)
    print(f"\nreal article URLs recognised: {len(urls) - len(missed)}/{len(urls)} = {share:.1%}")
    for outlet, url, reason in missed:
        print(f"  missed ({outlet}): {url}: {reason}")
    assert share >= GOAL, f"{share:.1%} of real article URLs recognised, goal {GOAL:.0%}: {missed}"
    for _, url, _ in missed:  # what the registry owns, it recognises; misses are outlets it lacks
        assert registry.source_for(url) is None, f"{url} is on a registry outlet's domain but no pattern matches"
    for _, check in checks:
        if check.is_article:
            owners = [s.id for s in registry.sources if s.article_match(check.url)]
            assert owners == [check.source], f"{check.url} matches {owners}"


def test_real_non_article_urls_are_rejected(registry: Registry, evidence: dict[str, Any]) -> None:
    urls = _urls(evidence, "non_article_urls")
    accepted = [(outlet, c.url, c.source, c.pattern) for outlet, url in urls if (c := registry.check(url)).is_article]
    share = 1 - len(accepted) / len(urls)
    print(f"\nreal non-article URLs rejected: {len(urls) - len(accepted)}/{len(urls)} = {share:.1%}")
    for outlet, url, source, pattern in accepted:
        print(f"  accepted ({outlet}): {url} by {source} {pattern}")
    assert share >= GOAL, f"{share:.1%} of real non-article URLs rejected, goal {GOAL:.0%}: {accepted}"


def test_test_web_article_urls_follow_real_shapes(registry: Registry, evidence: dict[str, Any]) -> None:
    """Each test-web article URL of an outlet whose shape is verified matches an allow pattern
    that a real article URL of that outlet also matches."""
    real = [url for _, url in _urls(evidence, "article_urls")]
    fixtures = Fixtures(registry)
    checked = 0
    for outlet in fixtures.outlets.values():
        source = outlet.source
        if source.article.status != "verified":
            continue
        real_patterns = {m.re.pattern for url in real if (m := source.article_match(url))}
        assert real_patterns, f"{source.id}: article patterns marked verified but no real URL in the evidence matches"
        for article in outlet.articles:
            match = source.article_match(article.url)
            assert match and match.re.pattern in real_patterns, (
                f"{article.url} does not follow a real {source.id} URL shape"
            )
            checked += 1
    assert checked >= 40


def test_aliases_and_url_variants_give_one_document_id(registry: Registry) -> None:
    same = [
        [
            "https://diariolatino.net/pnc-captura-supuesta-estructura",
            "https://www.diariocolatino.com/pnc-captura-supuesta-estructura/?utm_source=rss&utm_medium=rss",
        ],
        [
            "https://es.insightcrime.org/noticias/analisis/una-nota-de-prueba/",
            "https://insightcrime.org/es/noticias/analisis/una-nota-de-prueba/",
        ],
        [
            "https://elfaro-pwa.superdesk.pro/fotogaleria/una-galeria-de-prueba",
            "https://beta.elfaro.net/fotogaleria/una-galeria-de-prueba",
        ],
        [
            "https://beta-diario.elmundo.sv/politica/una-nota-de-prueba",
            "http://diario.elmundo.sv/politica/una-nota-de-prueba",
        ],
        [
            "http://www.elfaro.net/es/201603/el_salvador/18189/Fiscal%C3%ADa.htm",
            "https://elfaro.net/es/201603/el_salvador/18189/Fiscalía.htm",
        ],
    ]
    for variants in same:
        checks = [registry.check(url) for url in variants]
        assert all(c.is_article for c in checks), [c.reason for c in checks]
        assert len({c.doc_id for c in checks}) == 1, variants
        assert checks[0].doc_id == doc_id(checks[0].canonical or "")
    # an alias is not a blanket host fold: historico hosts number articles differently
    edh = [
        registry.check(u)
        for u in (
            "https://historico.elsalvador.com/188826/una-nota.html",
            "https://historico.eldiariodehoy.com/historico-edh/188826/una-nota.html",
        )
    ]
    assert edh[0].doc_id != edh[1].doc_id


def test_check_says_why_a_url_is_not_an_article(registry: Registry) -> None:
    assert "no outlet owns noticias.example" in registry.check("https://noticias.example/nota").reason
    assert "denies it" in registry.check("https://www.canal12.com.sv/noticias/deportes-3").reason
    assert "matches no article pattern of elfaro" in registry.check("https://beta.elfaro.net/en/central-america").reason
    assert "not an http(s) URL" in registry.check("ftp://elfaro.net/x").reason
    check = registry.check("https://diario.elmundo.sv/Opini%C3%B3n/la-sombra-de-la-tregua")
    assert (check.source, check.section) == ("diarioelmundo", "Opinión")


def test_sources_check_cli_prints_outlet_pattern_and_reason() -> None:
    url, other = (
        "https://croniosv.com/nacionales/sucesos/joven-pierde-la-vida-en-el-lago",
        "https://croniosv.com/nacionales/sucesos/",
    )
    done = subprocess.run(
        [str(VIGIA), "sources", "check", url, other], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr  # one of the two is not an article
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert (first["source"], first["is_article"], first["section"]) == ("cronio", True, "nacionales")
    assert first["pattern"] and first["doc_id"] == doc_id(url)
    assert not second["is_article"] and "matches no article pattern of cronio" in second["reason"]


def test_verify_reports_every_discovery_url_of_the_test_web(registry: Registry) -> None:
    web = TestWeb()
    with TestWebServer(web) as server:
        crawl = make_settings("elasticsearch").crawl.model_copy(update={"testweb_url": server.url, "polite": False})
        reports = verify_sources(registry, crawl)
    assert [(r.source, r.url) for r in reports] == [(s.id, d.url) for s in registry.sources for d in s.discovery]
    for report in reports:
        outlet = web.fixtures.outlets[report.source]
        assert report.outcome == "ok" and report.http_status == 200, report
        assert report.confirms, f"{report.url} yields no article link: {report}"
        assert report.articles <= len(outlet.articles) + len(outlet.real_pages)
        assert sum(report.patterns.values()) == report.articles
        assert set(report.patterns) <= set(outlet.source.article.allow)
    feeds = [r for r in reports if r.kind == "feed"]
    assert all(r.articles == len(web.fixtures.outlets[r.source].articles) for r in feeds)
    # each discovery URL once, robots.txt once per host, and nothing else but a sitemap index's newest child
    fetched = [r.url for r in web.requests]
    assert all(fetched.count(r.url) == 1 for r in reports)
    robots = [r.host for r in web.requests if r.path == "/robots.txt"]
    assert sorted(robots) == sorted({r.host for r in web.requests})
    children = [r for r in reports if "links from the newest" in r.detail]
    assert len(fetched) == len(reports) + len(robots) + len(children)


def test_verify_obeys_robots_and_sends_the_crawler_user_agent() -> None:
    web = TestWeb(faults=True)
    with TestWebServer(web) as server:
        crawl = make_settings("elasticsearch").crawl.model_copy(update={"testweb_url": server.url, "polite": False})
        fetcher = Fetcher(crawl)
        with pytest.raises(PermissionError, match="robots.txt of elfaro.net disallows"):
            fetcher.fetch(ROBOTS_DISALLOWED)
        assert fetcher.user_agent == crawl.user_agent_header
    assert ROBOTS_DISALLOWED not in [r.url for r in web.requests]


def test_verify_cli_reports_an_unreachable_outlet(tmp_path: Path) -> None:
    """Against a test web that is not running, every URL is reported unreachable, not raised."""
    with TestWebServer(TestWeb()) as server:
        url = server.url
    settings = make_settings("elasticsearch")
    settings = settings.model_copy(
        update={"crawl": settings.crawl.model_copy(update={"testweb_url": url, "download_timeout_s": 5})}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")} | {
        "VIGIA_CONFIG": str(_settings_file(settings, tmp_path))
    }
    done = subprocess.run(
        [str(VIGIA), "sources", "verify", "--source", "voces", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert (report["source"], report["outcome"], report["confirms"]) == ("voces", "unreachable", False)
