"""URL identity and the Article record's round trip through the index's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vigia.models import Article, Revision, doc_id, normalize_url


@pytest.mark.parametrize(
    "variant",
    [
        "https://elfaro.net/es/202411/política/nota",
        "http://www.elfaro.net/es/202411/pol%C3%ADtica/nota/",
        "https://ELFARO.net/es/202411/pol%c3%adtica/nota?utm_source=tw&utm_medium=social#comentarios",
        "https://m.elfaro.net/es/202411/política/nota/amp/",
    ],
)
def test_url_variants_share_one_identity(variant: str) -> None:
    assert normalize_url(variant) == "https://elfaro.net/es/202411/pol%C3%ADtica/nota"
    assert doc_id(variant) == doc_id("https://elfaro.net/es/202411/política/nota")


def test_meaningful_query_parameters_are_kept_in_order() -> None:
    assert normalize_url("https://fgr.gob.sv/?p=12&lang=es") == "https://fgr.gob.sv/?lang=es&p=12"
    assert doc_id("https://fgr.gob.sv/?p=12") != doc_id("https://fgr.gob.sv/?p=13")


def test_article_round_trips_through_its_document() -> None:
    article = Article(
        url="https://diario.sv/nota",
        source="diario",
        title="Título",
        text="Uno.\nDos.",
        published_at=datetime(2026, 11, 2, 14, 5, tzinfo=UTC),
        label_scores={"homicide": 0.97},
        previous_versions=[Revision("abc", seen_at=datetime(2026, 11, 1, tzinfo=UTC), word_count=3)],
    ).finalize()
    assert article.word_count == 2 and len(article.content_hash) == 40
    assert Article.from_doc(article.to_doc()) == article
