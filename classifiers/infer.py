"""Tagging with the trained model through ONNX Runtime: no torch needed at inference.

A model is a folder holding ``model.onnx`` (int8, dynamic quantisation), ``tokenizer.json`` and
``meta.json`` (label order, per-label thresholds, window, combiner). One ships with the package
(``classifiers/model/``, with a ``manifest.json`` of its files' hashes and dev metrics); models
built here by ``vigia train`` live under ``<cache>/models/classifier/<inputs hash>/``, and
``CURRENT`` in that parent names the one built last, which then takes precedence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.base import Tags, consistent_labels
from classifiers.combine import COMBINATIONS, FEATURES, combined, cue_matrix
from classifiers.location import event_location
from vigia.errors import ClassifierError

if TYPE_CHECKING:
    from vigia.config import Settings

IN_EL_SALVADOR = "in_el_salvador"
SHIPPED_MODEL = Path(__file__).parent / "model"
MODEL_FILES = ("model.onnx", "tokenizer.json", "meta.json")
PASSAGE_PREFIX = "passage: "


def classifier_root(settings: Settings) -> Path:
    return settings.classifier.model_dir(settings.cache_dir) / "classifier"


def is_model(folder: Path) -> bool:
    return all((folder / name).is_file() for name in MODEL_FILES)


def find_trained_model(settings: Settings) -> Path | None:
    """The model to tag with: the one ``vigia train`` built here last (``CURRENT``), else the
    shipped one; None only when the package lacks its model (a broken install)."""
    current = classifier_root(settings) / "CURRENT"
    if current.is_file():
        folder = classifier_root(settings) / current.read_text(encoding="utf-8").strip()
        if is_model(folder):
            return folder
    return SHIPPED_MODEL if is_model(SHIPPED_MODEL) else None


def read_meta(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))


def model_name(meta: dict[str, Any]) -> str:
    """What articles record as their tagger: depth and the hash of the training inputs."""
    return f"transformer-{meta.get('layers', 12)}-layers@{meta['inputs_hash'][:12]}"


def model_input(title: str, text: str) -> str:
    """What the encoder reads: e5's passage prefix, the headline, then the body (lead first)."""
    title, text = (title or "").strip(), (text or "").strip()
    return PASSAGE_PREFIX + (f"{title}.\n{text}" if title else text)


def tags_from_scores(
    title: str, text: str, scores: dict[str, float], thresholds: dict[str, float], fields: dict[str, list[str]]
) -> Tags:
    """Turn probabilities into tags: thresholds, the shared label conventions, places only for violence."""
    chosen = {name: [l for l in ids if scores[l] >= thresholds[l]] for name, ids in fields.items()}
    violence_type, actor = consistent_labels(chosen["violence_type"], chosen["actor"])
    in_sv = scores.get(IN_EL_SALVADOR, 1.0) >= thresholds.get(IN_EL_SALVADOR, 0.5)
    tags = Tags(
        violence_type=violence_type,
        actor=actor,
        in_el_salvador=in_sv,
        scores={k: round(float(v), 4) for k, v in scores.items()},
    )
    if tags.violence_type and in_sv:
        tags.department, tags.municipality = event_location(title, text)
    return tags


def token_windows(ids: list[int], max_length: int, max_chunks: int) -> list[list[int]]:
    """The windows of one tokenised document, ``<s> piece </s>`` each, at most ``max_chunks``:
    training and tagging cut articles the same way."""
    bos, content, eos = ids[0], ids[1:-1], ids[-1]
    size = max_length - 2
    pieces = [content[i : i + size] for i in range(0, max(len(content), 1), size)][:max_chunks]
    return [[bos, *piece, eos] for piece in pieces]


def window_tokenizer(path: Path) -> Any:
    """The model's tokenizer without truncation or padding: ``document_windows`` cuts documents."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def document_windows(
    tokenizer: Any, docs: Sequence[tuple[str, str]], max_length: int, max_chunks: int
) -> tuple[list[list[int]], np.ndarray]:
    """Every document's token windows, in order, and for each window the index of its document."""
    windows, owner = [], []
    for doc, encoding in enumerate(tokenizer.encode_batch([model_input(t, x) for t, x in docs])):
        for window in token_windows(encoding.ids, max_length, max_chunks):
            windows.append(window)
            owner.append(doc)
    return windows, np.asarray(owner, dtype=np.int64)


def padded_batch(windows: Sequence[list[int]], batch: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The windows ``batch`` as one array padded with XLM-R's ``<pad>`` (1), and its attention mask."""
    width = max(len(windows[i]) for i in batch)
    ids = np.ones((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, i in enumerate(batch):
        n = len(windows[i])
        ids[row, :n], mask[row, :n] = windows[i], 1
    return ids, mask


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped by similar length, so a batch pads little."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class OnnxTagger:
    """The trained classifier (int8 ONNX), batched by length, per-label calibrated thresholds.

    ``window``: ``head`` reads the headline and the body up to the window; ``chunks`` reads up to
    ``max_chunks`` consecutive windows and keeps each label's highest probability (what training
    does, and what ``meta.json`` names). The model's probabilities then go through the learned
    combiner with the keyword cues (``classifiers.combine``).
    """

    def __init__(
        self,
        model_dir: Path,
        settings: Settings | None = None,
        model_file: str = "model.onnx",
        window: str | None = None,
    ) -> None:
        import onnxruntime as ort

        self.meta: dict[str, Any] = read_meta(model_dir)
        self.name = model_name(self.meta)
        threads = settings.classifier.threads if settings else 2
        self.batch_size = settings.classifier.batch_size if settings else 16
        self.window = window or self.meta.get("window", "head")
        if self.window not in ("head", "chunks"):
            raise ClassifierError(f"unknown window strategy {self.window!r}: use 'head' or 'chunks'")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # In a crawl the other stages share the cores: idle ONNX threads must sleep, not spin.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_dir / model_file), options, providers=["CPUExecutionProvider"])
        self.tokenizer = window_tokenizer(model_dir / "tokenizer.json")
        self.max_length = int(self.meta["max_length"])
        self.max_chunks = int(self.meta.get("max_chunks", 1)) if self.window == "chunks" else 1
        self.labels: list[str] = self.meta["labels"]
        self.thresholds: dict[str, float] = self.meta["thresholds"]
        self.fields: dict[str, list[str]] = self.meta["fields"]
        combiner = self.meta.get("combiner") or {}
        if combiner.get("method") not in COMBINATIONS or list(combiner.get("features", [])) != list(FEATURES):
            raise ClassifierError(
                f"{model_dir / 'meta.json'} names no combination of model and cues over {FEATURES}: it was "
                "built by an older `vigia train`; rebuild it with `vigia train`, or delete it to use the shipped model"
            )
        self.combination: str = combiner["method"]
        weights = combiner.get("weights")
        self.combiner = np.asarray([weights[label] for label in self.labels], dtype=np.float32) if weights else None

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Logits for one padded batch (the benchmark swaps in the PyTorch model here)."""
        (logits,) = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
        return logits

    def probabilities(self, docs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Combined label probabilities, one row per doc, columns in ``self.labels`` order."""
        windows, owner = document_windows(self.tokenizer, docs, self.max_length, self.max_chunks)
        window_probs = np.zeros((len(windows), len(self.labels)), dtype=np.float32)
        for batch in length_batches([len(w) for w in windows], self.batch_size):
            window_probs[batch] = 1.0 / (1.0 + np.exp(-self.forward(*padded_batch(windows, batch))))
        out = np.zeros((len(docs), len(self.labels)), dtype=np.float32)
        np.maximum.at(out, owner, window_probs)
        return combined(self.combination, out, cue_matrix(docs, self.labels), self.labels, self.combiner)

    def tag(self, docs: Sequence[tuple[str, str]]) -> list[Tags]:
        if not docs:
            return []
        probs = self.probabilities(docs)
        return [
            tags_from_scores(title, text, dict(zip(self.labels, row.tolist())), self.thresholds, self.fields)
            for (title, text), row in zip(docs, probs)
        ]
