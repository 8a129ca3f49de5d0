"""`vigia train`: build the classifier reproducibly, compare it with the baselines on the dev
sets, export the best one to int8 ONNX.

Models compared (one report): the keyword tagger; the frozen encoder (e5 mean-pooled embedding)
with trained linear heads; the encoder fine-tuned. On 2 CPU cores a full fine-tune of a 118 M
parameter model does not fit in the time budget, so the fine-tune trains the top
``trainable_layers`` transformer layers and the head, on cached outputs of the frozen layers below
(embeddings are frozen: the 250k-row matrix is most of the parameters and the data is small).
Everything is seeded; the output folder is keyed by a hash of the data, base weights, settings
and this recipe, so an unchanged run is a cache hit. Dev rows tune thresholds and pick the model;
test rows are never read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.corpora import (
    DATA_DIR,
    DEV_CORPORA,
    MX_CORPUS,
    Example,
    default_shared_dir,
    load_dev,
    load_mx,
    load_written,
)
from classifiers.evaluate import evaluate_tagger
from classifiers.infer import (
    IN_EL_SALVADOR,
    OnnxTagger,
    classifier_root,
    document_windows,
    length_batches,
    padded_batch,
    tags_from_scores,
    window_tokenizer,
)
from classifiers.keywords import KeywordTagger
from classifiers.taxonomy import TAXONOMY_FILE, load_taxonomy
from classifiers.training.encoder import file_sha256, prepare_base_model
from vigia.errors import ClassifierError

if TYPE_CHECKING:
    import torch

    from vigia.config import Settings

log = logging.getLogger(__name__)
RECIPE_VERSION = 3


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; every field goes into the cache key."""

    max_length: int = 256
    trainable_layers: int = 2
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 1e-4
    head_learning_rate: float = 2e-3
    head_steps: int = 400
    weight_decay: float = 0.01
    seed: int = 13
    limit: int | None = None  # train on the first N examples (smoke runs)
    dev_limit: int | None = None  # evaluate on the first N rows of each dev set (smoke runs)
    max_chunks: int = 4  # windows read per article when pooling chunks
    train_chunks: int = 4  # windows per training article; its score is its best window's, as at tagging


def require_torch() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ClassifierError(
            "training needs torch and transformers, which are not installed: pip install 'vigia[train]' "
            "(tagging with a trained model needs neither)"
        ) from exc


def label_space() -> tuple[list[str], dict[str, list[str]]]:
    """Output columns: the taxonomy's labels, then ``in_el_salvador``; and the ids per field."""
    taxonomy = load_taxonomy()
    fields = {f: taxonomy.ids(f) for f in ("violence_type", "actor")}
    return fields["violence_type"] + fields["actor"] + [IN_EL_SALVADOR], fields


def targets(examples: Sequence[Example], labels: list[str]) -> np.ndarray:
    out = np.zeros((len(examples), len(labels)), dtype=np.float32)
    for row, example in enumerate(examples):
        present = set(example.violence_type) | set(example.actor)
        for col, label in enumerate(labels):
            out[row, col] = float(example.in_el_salvador if label == IN_EL_SALVADOR else label in present)
    return out


def inputs_hash(config: TrainConfig, base_name: str, shared: Path | None) -> str:
    """Hash of everything the model depends on: data files, base weights, settings, recipe."""
    digest = hashlib.sha256()
    files = sorted(DATA_DIR.glob("*.jsonl")) + [TAXONOMY_FILE]  # the cues take part in calibration
    if shared is not None:
        files += [shared / "corpora" / MX_CORPUS / "articles.jsonl"]
        files += [shared / "corpora" / c / name for c in DEV_CORPORA for name in ("dev_labels.jsonl",)]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + file_sha256(path).encode())
    payload = {"config": asdict(config), "base": base_name, "recipe": RECIPE_VERSION}
    digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


class EncoderClassifier:
    """BertModel + mean pooling + linear head, split at ``cut`` so the frozen bottom runs once."""

    def __init__(self, base_dir: Path, n_labels: int, trainable_layers: int) -> None:
        import torch
        from transformers import BertModel

        self.bert = BertModel.from_pretrained(base_dir, add_pooling_layer=False, attn_implementation="eager")
        self.cut = self.bert.config.num_hidden_layers - trainable_layers
        self.head = torch.nn.Linear(self.bert.config.hidden_size, n_labels)

    def upper_parameters(self) -> list[Any]:
        return [p for layer in self.bert.encoder.layer[self.cut :] for p in layer.parameters()]

    @staticmethod
    def additive_mask(mask: torch.Tensor, dtype: Any) -> torch.Tensor:
        import torch

        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after the frozen layers (input of the trainable ones)."""
        out = self.bert(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        return out.hidden_states[self.cut]

    def upper(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooled sentence vector from the trainable layers on cached hidden states."""
        from classifiers.training.encoder import mean_pool

        additive = self.additive_mask(mask, hidden.dtype)
        for layer in self.bert.encoder.layer[self.cut :]:
            hidden = layer(hidden, attention_mask=additive)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        return mean_pool(hidden, mask)

    def module(self) -> torch.nn.Module:
        """The whole model as one module (input_ids, attention_mask) → logits, for export."""
        import torch

        from classifiers.training.encoder import mean_pool

        bert, head = self.bert, self.head

        class Full(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert, self.head = bert, head

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                return self.head(mean_pool(hidden, attention_mask))

        return Full().eval()


def _batches(n: int, size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + size] for i in range(0, n, size)]


def _pad(seqs: Sequence[Any], index: np.ndarray) -> tuple[Any, Any]:
    """Stack variable-length cached states (T_i × H) into a padded batch and its mask."""
    import torch

    width = max(seqs[i].shape[0] for i in index)
    hidden = torch.zeros(len(index), width, seqs[index[0]].shape[1])
    mask = torch.zeros(len(index), width, dtype=torch.long)
    for row, i in enumerate(index):
        n = seqs[i].shape[0]
        hidden[row, :n], mask[row, :n] = seqs[i].float(), 1
    return hidden, mask


@dataclass
class Windows:
    """Frozen-bottom hidden states of every document's token windows (fp16, unpadded) and, per
    window, the index of its document: long articles are read whole, in windows, as at tagging."""

    states: list[Any]
    owner: np.ndarray

    def of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The windows of ``docs`` and, for each, its position in ``docs``."""
        position = {int(d): k for k, d in enumerate(docs)}
        index = np.flatnonzero(np.isin(self.owner, docs))
        return index, np.array([position[int(d)] for d in self.owner[index]], dtype=np.int64)


def encode_lower(
    model: EncoderClassifier,
    tokenizer: Any,
    docs: Sequence[Example],
    max_length: int,
    max_chunks: int,
    progress: Callable,
) -> Windows:
    """Run the frozen layers once over up to ``max_chunks`` windows of each document."""
    import torch

    windows, owner = document_windows(tokenizer, [(d.title, d.text) for d in docs], max_length, max_chunks)
    states: list[Any] = [None] * len(windows)
    batches = list(length_batches([len(w) for w in windows], 16))
    with torch.no_grad():
        for batch in progress(batches, desc="encoding (frozen layers)"):
            ids, mask = padded_batch(windows, batch)
            hidden = model.lower(torch.from_numpy(ids), torch.from_numpy(mask))
            for row, i in enumerate(batch):
                states[i] = hidden[row, : len(windows[i])].to(torch.float16).clone()
    return Windows(states, owner)


def doc_max(logits: Any, owner: Any, n_docs: int) -> Any:
    """Each document's logits: the highest of its windows' (tagging keeps the highest probability)."""
    import torch

    out = torch.full((n_docs, logits.shape[1]), float("-inf"), dtype=logits.dtype)
    return out.scatter_reduce(0, owner[:, None].expand_as(logits), logits, reduce="amax")


def pooled(model: EncoderClassifier, states: list[Any], batch_size: int) -> Any:
    import torch

    with torch.no_grad():
        return torch.cat([model.upper(*_pad(states, idx)) for idx in _batches(len(states), batch_size)])


def train_head(features: Any, owner: np.ndarray, y: Any, config: TrainConfig) -> Any:
    """Linear heads on frozen window embeddings (full-batch Adam, weight decay): the frozen baseline."""
    import torch

    head = torch.nn.Linear(features.shape[1], y.shape[1])
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.head_learning_rate * 5, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    owner_t = torch.from_numpy(owner)
    for _ in range(config.head_steps):
        optimizer.zero_grad()
        loss_fn(doc_max(head(features), owner_t, y.shape[0]), y).backward()
        optimizer.step()
    return head.eval()


def fine_tune(model: EncoderClassifier, windows: Windows, y: Any, config: TrainConfig, progress: Callable) -> None:
    """Train the top layers + head on the cached states (AdamW, linear decay, seeded order of
    documents; each document's loss is on its best window, so a label reported only late in a
    long article is not forced onto its first window)."""
    import torch

    for p in model.bert.parameters():
        p.requires_grad_(False)
    upper = model.upper_parameters()
    for p in upper:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(
        [
            {"params": upper, "lr": config.learning_rate},
            {"params": model.head.parameters(), "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
    )
    rng = np.random.default_rng(config.seed)
    n_docs = y.shape[0]
    total = config.epochs * len(_batches(n_docs, config.batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / max(total, 1)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.bert.train()
    bar = progress(total=total, desc="fine-tuning")
    for epoch in range(config.epochs):
        for docs in _batches(n_docs, config.batch_size, rng):
            index, position = windows.of(docs)
            logits = model.head(model.upper(*_pad(windows.states, index)))
            loss = loss_fn(doc_max(logits, torch.from_numpy(position), len(docs)), y[torch.from_numpy(docs)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    bar.close()
    model.bert.eval()


def calibrate(probs: np.ndarray, y: np.ndarray, labels: list[str], min_support: int = 3) -> dict[str, float]:
    """Per-label threshold maximising F1 on the dev rows; 0.5 where dev has too few positives."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    thresholds = {}
    for col, label in enumerate(labels):
        gold = y[:, col] > 0.5
        if gold.sum() < min_support:
            thresholds[label] = 0.5
            continue
        best = (-1.0, 0.0, 0.5)
        for t in grid:
            pred = probs[:, col] >= t
            tp, fp, fn = (pred & gold).sum(), (pred & ~gold).sum(), (~pred & gold).sum()
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            best = max(best, (f1, -abs(t - 0.5), float(t)))
        thresholds[label] = best[2]
    return thresholds


class _ProbabilityTagger:
    """Tags from precomputed probabilities (the frozen/fine-tuned torch models before export)."""

    def __init__(
        self,
        name: str,
        probs: dict[str, np.ndarray],
        labels: list[str],
        thresholds: dict[str, float],
        fields: dict[str, list[str]],
        docs: dict[str, str],
    ) -> None:
        self.name, self._probs, self._labels, self._thresholds, self._fields = name, probs, labels, thresholds, fields
        self._by_doc = docs

    def tag(self, docs: Sequence[tuple[str, str]]) -> list[Any]:
        out = []
        for title, text in docs:
            row = self._probs[self._by_doc[title + "\x00" + text]]
            out.append(
                tags_from_scores(title, text, dict(zip(self._labels, row.tolist())), self._thresholds, self._fields)
            )
        return out


def export_onnx(model: EncoderClassifier, out_dir: Path) -> None:
    """fp32 ONNX export (dynamic batch and length) + dynamic int8 quantisation of the weights,
    one scale per output channel."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = out_dir / "model-fp32.onnx"
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0  # trace with padding, so no mask-skipping shortcut is baked into the graph
    torch.onnx.export(
        model.module(),
        (ids, mask),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logits": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    # Per-channel scales halve the int8 error of the label probabilities (dev: mean |Δp| vs fp32
    # 0.018 → 0.008, decisions flipped at 0.5: 96 → 35 of 6,090) at the same size and speed.
    quantize_dynamic(str(fp32), str(out_dir / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)


def train(
    settings: Settings,
    config: TrainConfig | None = None,
    progress: bool = True,
    shared: Path | None = None,
    make_current: bool = True,
) -> Path:
    """Build (or find in the cache) the classifier; returns its folder and, unless told not
    to (smoke runs), makes it the CURRENT model that ``load_tagger`` serves."""
    require_torch()
    import torch
    from tqdm.auto import tqdm

    config = config or TrainConfig(max_length=settings.classifier.max_length)
    bar = (lambda *a, **k: tqdm(*a, **k)) if progress else (lambda *a, **k: tqdm(*a, disable=True, **k))
    shared = shared if shared is not None else default_shared_dir()
    shared = shared if (shared / "corpora").is_dir() else None
    base_dir, base_name = prepare_base_model(settings)
    key = inputs_hash(config, base_name, shared)
    root = classifier_root(settings)
    out_dir = root / key[:16]
    if (out_dir / "meta.json").is_file() and (out_dir / "model.onnx").is_file():
        log.info("classifier for these inputs already built: %s", out_dir)
        if make_current:
            (root / "CURRENT").write_text(out_dir.name, encoding="utf-8")
        return out_dir
    seed_everything(config.seed)
    torch.set_num_threads(max(1, settings.classifier.threads))

    examples = load_written() + (load_mx(shared) if shared else [])
    if config.limit:
        examples = examples[: config.limit]
    dev = {c: load_dev(shared, c)[: config.dev_limit] for c in DEV_CORPORA} if shared else {}
    all_dev = [e for rows in dev.values() for e in rows]
    labels, fields = label_space()
    y = torch.from_numpy(targets(examples, labels))
    y_dev = targets(all_dev, labels)
    log.info("training on %d examples, %d dev rows, base %s", len(examples), len(all_dev), base_name)

    tokenizer = window_tokenizer(base_dir / "tokenizer.json")
    model = EncoderClassifier(base_dir, len(labels), config.trainable_layers)
    model.bert.eval()
    train_windows = encode_lower(model, tokenizer, examples, config.max_length, config.train_chunks, bar)
    dev_windows = (
        encode_lower(model, tokenizer, all_dev, config.max_length, config.max_chunks, bar) if all_dev else None
    )

    doc_key = {e.title + "\x00" + e.text: i for i, e in enumerate(all_dev)}
    reports: dict[str, dict[str, Any]] = {}
    if all_dev:
        reports["keywords-placeholder"] = {c: evaluate_tagger(KeywordTagger(), rows) for c, rows in dev.items()}

    frozen_upper = {k: v.clone() for k, v in model.bert.encoder.layer[model.cut :].state_dict().items()}
    frozen_head = train_head(pooled(model, train_windows.states, 32), train_windows.owner, y, config)
    frozen_dev = pooled(model, dev_windows.states, 32) if dev_windows else None
    fine_tune(model, train_windows, y, config, bar)

    chosen = "fine-tuned-top-layers"
    if all_dev:
        with torch.no_grad():
            dev_probs = {
                name: torch.sigmoid(doc_max(head(features), torch.from_numpy(dev_windows.owner), len(all_dev))).numpy()
                for name, head, features in (
                    ("frozen-encoder+heads", frozen_head, frozen_dev),
                    ("fine-tuned-top-layers", model.head, pooled(model, dev_windows.states, 32)),
                )
            }
        for name, probs in dev_probs.items():
            thresholds = calibrate(probs, y_dev, labels)
            tagger = _ProbabilityTagger(name, probs, labels, thresholds, fields, doc_key)
            reports[name] = {c: evaluate_tagger(tagger, rows) for c, rows in dev.items()}
        chosen = max(dev_probs, key=lambda name: _mean_macro(reports[name]))
    if chosen == "frozen-encoder+heads":
        model.bert.encoder.layer[model.cut :].load_state_dict(frozen_upper)
        model.head = frozen_head

    tmp_dir = root / f"{key[:16]}.partial"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    export_onnx(model, tmp_dir)
    shutil.copy(base_dir / "tokenizer.json", tmp_dir / "tokenizer.json")
    torch.save(
        {
            "cut": model.cut,
            "upper": model.bert.encoder.layer[model.cut :].state_dict(),
            "head": model.head.state_dict(),
            "base_dir": str(base_dir),
        },
        tmp_dir / "torch_top.pt",
    )
    meta: dict[str, Any] = {
        "name": chosen,
        "base_model": base_name,
        "labels": labels,
        "fields": fields,
        "max_length": config.max_length,
        "max_chunks": config.max_chunks,
        "window": "head",
        "keyword_weight": 0.0,
        "thresholds": {label: 0.5 for label in labels},
        "config": asdict(config),
        "inputs_hash": key,
        "train_examples": len(examples),
        "dev_rows": {c: len(rows) for c, rows in dev.items()},
    }
    (tmp_dir / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if all_dev:
        meta.update(_pick_window(tmp_dir, settings, dev, all_dev, y_dev, labels, reports, chosen))
        (tmp_dir / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    (tmp_dir / "report.json").write_text(json.dumps(reports, indent=1, ensure_ascii=False), encoding="utf-8")
    (tmp_dir / "model-fp32.onnx").unlink()
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    if make_current:
        (root / "CURRENT").write_text(out_dir.name, encoding="utf-8")
    return out_dir


def _mean_macro(per_set: dict[str, dict[str, Any]]) -> float:
    return float(np.mean([report["macro_f1"] for report in per_set.values()]))


def _pick_window(
    model_dir: Path,
    settings: Settings,
    dev: dict[str, list[Example]],
    all_dev: list[Example],
    y_dev: np.ndarray,
    labels: list[str],
    reports: dict[str, Any],
    chosen: str,
) -> dict[str, Any]:
    """Calibrate the exported int8 model on dev for each window strategy (head, chunks) and
    keyword blend weight (0, 0.5); keep the best by mean dev macro-F1. Also reports each at the
    untuned 0.5 thresholds, and the chosen one calibrated on one dev set and scored on the other."""
    best: tuple[float, str, dict[str, Any]] = (-1.0, "", {})
    docs = [(e.title, e.text) for e in all_dev]
    for window in ("head", "chunks"):
        tagger = OnnxTagger(model_dir, settings, window=window)
        model_probs = tagger.probabilities(docs)
        for weight in (0.0, 0.5):
            tagger.keyword_weight = weight
            probs = tagger.blend(docs, model_probs) if weight else model_probs
            name = f"{chosen} [onnx int8, {window}, keyword weight {weight}]"
            tagger.thresholds = {label: 0.5 for label in labels}
            reports[name + " thresholds 0.5"] = {c: evaluate_tagger(tagger, rows) for c, rows in dev.items()}
            tagger.thresholds = calibrate(probs, y_dev, labels)
            reports[name] = {c: evaluate_tagger(tagger, rows) for c, rows in dev.items()}
            settings_ = {"window": window, "keyword_weight": weight, "thresholds": tagger.thresholds}
            best = max(best, (_mean_macro(reports[name]), name, settings_), key=lambda b: b[0])
    _, name, picked = best
    tagger = OnnxTagger(model_dir, settings, window=picked["window"])
    tagger.keyword_weight = picked["keyword_weight"]
    probs = tagger.probabilities(docs)
    offsets = np.cumsum([0] + [len(rows) for rows in dev.values()])
    cross: dict[str, Any] = {}
    for k, (corpus, rows) in enumerate(dev.items()):
        other = np.ones(len(all_dev), dtype=bool)
        other[offsets[k] : offsets[k + 1]] = False
        tagger.thresholds = calibrate(probs[other], y_dev[other], labels)
        cross[corpus] = evaluate_tagger(tagger, rows)
    reports[name + " thresholds from the other dev set"] = cross
    return picked


def load_torch_classifier(model_dir: Path) -> Any:
    """The trained model in PyTorch fp32 (benchmarks compare it with the int8 ONNX export)."""
    require_torch()
    import torch

    saved = torch.load(model_dir / "torch_top.pt", weights_only=True)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    model = EncoderClassifier(Path(saved["base_dir"]), len(meta["labels"]), meta["config"]["trainable_layers"])
    model.bert.encoder.layer[saved["cut"] :].load_state_dict(saved["upper"])
    model.head.load_state_dict(saved["head"])
    return model.module()
