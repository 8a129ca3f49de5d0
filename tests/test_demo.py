"""`vigia demo`'s path end to end: engine, test web, real Scrapy crawl, extraction, tagging, index,
run as `make demo` runs it on a fresh machine: with the shipped model and without the training
stack (torch, transformers) importable."""

from __future__ import annotations

from conftest import run_without_training

from vigia.cli.demo import DEMO_PREFIX
from vigia.config import Settings
from vigia.models import Article
from vigia.store import Store


def test_demo_indexes_the_test_web_and_finds_arrests_without_the_training_stack(cli_store: Store) -> None:
    settings: Settings = cli_store.settings.model_copy(
        update={"index": cli_store.settings.index.model_copy(update={"prefix": DEMO_PREFIX})}
    )
    demo_store = Store(settings)
    demo_store.init_indices()
    old = Article(url="https://elfaro.net/es/202601/el_salvador/1/vieja.htm", source="elfaro", title="Vieja",
                  text="Una nota de una corrida anterior del demo.").finalize()  # fmt: skip
    demo_store.upsert([old])
    result = run_without_training("import sys\nfrom vigia.cli import app\nsys.argv = ['vigia', 'demo']\napp()\n")
    assert result.returncode == 0, result.stderr
    out = result.stderr + result.stdout  # the summary goes to stderr, the results to stdout
    assert "errors none" in out and "classifier: transformer-" in out and "(shipped)" in out, out
    demo_store.refresh()
    indexed = demo_store.count()
    assert indexed > 90 and f"{indexed} articles indexed" in out
    assert demo_store.term_counts("violence_type").get("arrest", 0) > 0
    assert demo_store.count(query={"ids": {"values": [old.id]}}) == 0  # the earlier run's article is gone
    assert "sample search: capturados" in out
