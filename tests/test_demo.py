"""`vigia demo`'s path end to end: engine, test web, real Scrapy crawl, extraction, tagging, index."""

from __future__ import annotations

from vigia.cli.demo import DEMO_PREFIX, run_demo
from vigia.config import Settings
from vigia.models import Article
from vigia.store import Store


def test_demo_indexes_the_test_web_and_finds_arrests(settings: Settings) -> None:
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"prefix": DEMO_PREFIX})})
    store = Store(settings)
    store.init_indices()
    store.upsert([Article(url="https://elfaro.net/es/202601/el_salvador/1/vieja.htm", source="elfaro", title="Vieja",
                          text="Una nota de una corrida anterior del demo.").finalize()])  # fmt: skip
    result = run_demo(settings)
    assert result.engine.running and result.engine.health in ("green", "yellow")
    assert result.crawl.close_reason == "finished" and not result.crawl.errors()
    assert result.indexed == result.crawl.total("new") > 90
    assert result.by_type.get("arrest", 0) > 0
    assert result.sample.total > 0
    assert all("arrest" in hit.article.violence_type for hit in result.sample.hits)
    assert store.count() == result.indexed  # the earlier run's article is gone
