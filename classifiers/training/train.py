"""`vigia train`: build the classifier reproducibly, score it out of fold on the dev sets, export
it to int8 ONNX.

The base encoder's vocabulary is first trimmed to the pieces our corpora use
(``classifiers/training/vocab.py``). On 2 CPU cores a full fine-tune does not fit the time budget,
so the top ``trainable_layers`` transformer layers and the head are trained on cached outputs of
the frozen layers below, on the written and Mexican training articles. The labelled Salvadoran dev
rows then take part by cross-fitting (``classifiers/training/crossfit.py``): the head is refitted
with them, a combiner of model and keyword cues and the thresholds are fitted, and every reported
dev number is out of fold. Everything is seeded; the output folder is keyed by a hash of the data,
base weights, settings and this recipe, so an unchanged run is a cache hit. Test rows are never
read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.combine import COMBINATIONS, FEATURES, cue_matrix
from classifiers.corpora import (
    DATA_DIR,
    DEV_CORPORA,
    MX_CORPUS,
    Example,
    default_shared_dir,
    load_dev,
    load_mx,
    load_written,
    read_articles,
)
from classifiers.evaluate import evaluate_tagger, score, summary_row, tags_to_labels
from classifiers.infer import (
    IN_EL_SALVADOR,
    OnnxTagger,
    classifier_root,
    document_windows,
    is_model,
    length_batches,
    model_input,
    padded_batch,
    tags_from_scores,
    window_tokenizer,
)
from classifiers.keywords import KeywordTagger
from classifiers.taxonomy import TAXONOMY_FILE, load_taxonomy
from classifiers.training.crossfit import (
    Combination,
    WindowFeatures,
    cross_fit_heads,
    doc_max,
    fold_combination,
    fold_ids,
    head_probabilities,
    windows_of,
)
from classifiers.training.encoder import file_sha256, prepare_base_model
from classifiers.training.vocab import trimmed_encoder
from vigia.errors import ClassifierError

if TYPE_CHECKING:
    import torch

    from vigia.config import Settings

log = logging.getLogger(__name__)
RECIPE_VERSION = 4
# The student (``classifiers/training/student.py``) keeps the base's lower layers up to this one
# and trains two layers on top: the teacher's encoding pass keeps these states too.
STUDENT_INPUT_LAYER = 4


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
    folds: int = 5  # cross-fitting folds of the dev rows
    dev_weight: float = 4.0  # a dev row's weight in the head's loss, against 1 for a training article


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


def inputs_hash(config: TrainConfig, base_name: str, shared: Path | None, cues: bool = True) -> str:
    """Hash of everything the model depends on: data files, base weights, settings, recipe.

    ``cues=False``: what the fine-tuned weights depend on, the taxonomy's label ids but not its
    cues (they only take part in the combination and calibration), so a changed cue costs a
    re-calibration, not a fine-tune."""
    digest = hashlib.sha256()
    files = sorted(DATA_DIR.glob("*.jsonl")) + ([TAXONOMY_FILE] if cues else [])
    if shared is not None:
        files += [shared / "corpora" / MX_CORPUS / "articles.jsonl"]
        files += [shared / "corpora" / c / name for c in DEV_CORPORA for name in ("dev_labels.jsonl",)]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + file_sha256(path).encode())
    payload: dict[str, Any] = {"config": asdict(config), "base": base_name, "recipe": RECIPE_VERSION}
    if not cues:
        payload["labels"] = label_space()[0]
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

    def __init__(self, base_dir: Path, n_labels: int, trainable_layers: int, layers: int | None = None) -> None:
        """``layers``: keep only the base's first ``layers`` transformer layers (the student)."""
        import torch
        from transformers import BertModel

        self.base_dir = base_dir
        shape = {"num_hidden_layers": layers} if layers else {}
        self.bert = BertModel.from_pretrained(base_dir, add_pooling_layer=False, attn_implementation="eager", **shape)
        self.cut = self.bert.config.num_hidden_layers - trainable_layers
        self.head = torch.nn.Linear(self.bert.config.hidden_size, n_labels)

    def upper_parameters(self) -> list[Any]:
        return [p for layer in self.bert.encoder.layer[self.cut :] for p in layer.parameters()]

    @staticmethod
    def additive_mask(mask: torch.Tensor, dtype: Any) -> torch.Tensor:
        import torch

        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def lower(self, ids: torch.Tensor, mask: torch.Tensor, layers: Sequence[int]) -> dict[int, torch.Tensor]:
        """Hidden states entering each of ``layers`` (0 = the embeddings' output), computing no
        layer above the highest asked."""
        hidden = self.bert.embeddings(input_ids=ids)
        additive = self.additive_mask(mask, hidden.dtype)
        out = {0: hidden} if 0 in layers else {}
        for number, layer in enumerate(self.bert.encoder.layer[: max(layers)], 1):
            hidden = layer(hidden, attention_mask=additive)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            if number in layers:
                out[number] = hidden
        return out

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

    @classmethod
    def of_buffer(cls, buffer: Any, bounds: Any, owner: np.ndarray) -> Windows:
        """Windows whose states are consecutive rows of one buffer (window i: bounds[i]:bounds[i+1])."""
        edges = bounds.tolist()
        return cls([buffer[start:end] for start, end in itertools.pairwise(edges)], owner)

    def of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The windows of ``docs`` and, for each, its position in ``docs``."""
        return windows_of(self.owner, docs)


def encode_lower(
    encoder: Callable[[], EncoderClassifier],
    base_dir: Path,
    tokenizer: Any,
    docs: Sequence[Example],
    config: TrainConfig,
    max_chunks: int,
    progress: Callable,
    cache_dir: Path,
    layers: Sequence[int],
) -> dict[int, Windows]:
    """Run the frozen layers once over up to ``max_chunks`` windows of each document; the states
    entering each of ``layers`` are kept (fp16) and cached on disk, keyed by the texts, the base
    weights and the windowing, so a retraining with other heads or settings skips this step."""
    import torch

    texts = [(d.title, d.text) for d in docs]
    digest = hashlib.sha256(
        json.dumps(["buffers", base_dir.name, config.max_length, max_chunks, sorted(layers), texts]).encode()
    )
    cached = cache_dir / f"{digest.hexdigest()[:20]}.pt"
    if cached.is_file():
        saved = torch.load(cached, weights_only=True)
        return {
            layer: Windows.of_buffer(buffer, saved["bounds"], saved["owner"].numpy())
            for layer, buffer in saved["layers"].items()
        }
    windows, owner = document_windows(tokenizer, texts, config.max_length, max_chunks)
    bounds = torch.tensor(np.cumsum([0] + [len(w) for w in windows]))
    model = encoder()
    # One buffer per layer, filled in place: thousands of separately allocated states fragment
    # the heap between the batches' temporaries (peak memory ~4× the states' size).
    hidden_size = model.bert.config.hidden_size
    buffers = {layer: torch.empty(int(bounds[-1]), hidden_size, dtype=torch.float16) for layer in layers}
    with torch.no_grad():
        for batch in progress(list(length_batches([len(w) for w in windows], 16)), desc="encoding (frozen layers)"):
            ids, mask = padded_batch(windows, batch)
            for layer, hidden in model.lower(torch.from_numpy(ids), torch.from_numpy(mask), layers).items():
                for row, i in enumerate(batch):
                    buffers[layer][bounds[i] : bounds[i + 1]] = hidden[row, : len(windows[i])]
    del model
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    torch.save({"layers": buffers, "bounds": bounds, "owner": torch.from_numpy(owner)}, partial)
    partial.rename(cached)
    return {layer: Windows.of_buffer(buffer, bounds, owner) for layer, buffer in buffers.items()}


def pooled(model: EncoderClassifier, states: list[Any], batch_size: int) -> Any:
    import torch

    with torch.no_grad():
        return torch.cat([model.upper(*_pad(states, idx)) for idx in _batches(len(states), batch_size)])


def fine_tune(
    model: EncoderClassifier,
    windows: Windows,
    y: Any,
    config: TrainConfig,
    progress: Callable,
    soft: Any | None = None,
    soft_weight: float = 0.5,
) -> None:
    """Train the top layers + head on the cached states (AdamW, linear decay, seeded order of
    documents; each document's loss is on its best window, so a label reported only late in a
    long article is not forced onto its first window). With ``soft`` (a teacher's probabilities
    per window), that much of the loss is on matching the teacher window by window."""
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
            if soft is not None:
                loss = (1 - soft_weight) * loss + soft_weight * loss_fn(logits, soft[torch.from_numpy(index)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    bar.close()
    model.bert.eval()


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


def vocabulary_texts(examples: Sequence[Example], dev: Sequence[Example], shared: Path | None) -> Iterator[str]:
    """The text the vocabulary is measured on: training and dev articles, and every article of the
    unlabelled Mexican pool (never a test row)."""
    seen = set()
    for example in [*examples, *dev]:
        seen.add(example.id)
        yield model_input(example.title, example.text)
    pool = shared / "corpora" / MX_CORPUS / "articles.jsonl" if shared else None
    if pool is not None and pool.is_file():
        for article_id, article in read_articles(pool).items():
            if article_id not in seen:
                yield model_input(article.get("title") or "", article.get("text") or "")


@dataclass
class Inputs:
    """What a training run reads, prepared once for the teacher and the student."""

    settings: Settings
    config: TrainConfig
    key: str
    fine_tune_key: str  # ``inputs_hash(..., cues=False)``
    root: Path
    base_name: str
    base_dir: Path
    vocabulary: int
    examples: list[Example]
    dev: dict[str, list[Example]]
    labels: list[str]
    fields: dict[str, list[str]]
    progress: Callable

    @property
    def all_dev(self) -> list[Example]:
        return [e for rows in self.dev.values() for e in rows]

    def states(self, docs: list[Example], chunks: int) -> dict[int, Windows]:
        """The frozen base layers' states of ``docs`` entering the teacher's and the student's
        trainable layers (computed once, then read from the cache)."""
        tokenizer = window_tokenizer(self.base_dir / "tokenizer.json")
        layers = (self.base_layers - self.config.trainable_layers, STUDENT_INPUT_LAYER)

        def encoder() -> EncoderClassifier:
            return EncoderClassifier(self.base_dir, len(self.labels), self.config.trainable_layers)

        return encode_lower(
            encoder, self.base_dir, tokenizer, docs, self.config, chunks, self.progress, self.root / "states", layers
        )

    @property
    def base_layers(self) -> int:
        return int(json.loads((self.base_dir / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"])


def shared_corpora(shared: Path | None) -> Path | None:
    """The shared folder when it holds the corpora (given, else ``../shared``), else None."""
    shared = shared if shared is not None else default_shared_dir()
    return shared if (shared / "corpora").is_dir() else None


def prepare(settings: Settings, config: TrainConfig, progress: bool, shared: Path | None) -> Inputs:
    require_torch()
    from tqdm.auto import tqdm

    bar = (lambda *a, **k: tqdm(*a, **k)) if progress else (lambda *a, **k: tqdm(*a, disable=True, **k))
    shared = shared_corpora(shared)
    base_dir, base_name = prepare_base_model(settings)
    key = inputs_hash(config, base_name, shared)
    fine_tune_key = inputs_hash(config, base_name, shared, cues=False)
    examples = load_written() + (load_mx(shared) if shared else [])
    if config.limit:
        examples = examples[: config.limit]
    dev = {c: load_dev(shared, c)[: config.dev_limit] for c in DEV_CORPORA} if shared else {}
    all_dev = [e for rows in dev.values() for e in rows]
    base_dir, vocabulary = trimmed_encoder(base_dir, vocabulary_texts(examples, all_dev, shared))
    labels, fields = label_space()
    root = classifier_root(settings)
    return Inputs(
        settings,
        config,
        key,
        fine_tune_key,
        root,
        base_name,
        base_dir,
        vocabulary,
        examples,
        dev,
        labels,
        fields,
        bar,
    )


def cached_model(folder: Path, root: Path, make_current: bool) -> bool:
    if not is_model(folder):
        return False
    log.info("classifier for these inputs already built: %s", folder)
    if make_current:
        (root / "CURRENT").write_text(folder.name, encoding="utf-8")
    return True


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

    config = config or TrainConfig(max_length=settings.classifier.max_length)
    _, base_name = prepare_base_model(settings)
    root = classifier_root(settings)
    key = inputs_hash(config, base_name, shared_corpora(shared))
    if cached_model(root / key[:16], root, make_current):
        return root / key[:16]
    inputs = prepare(settings, config, progress, shared)
    seed_everything(config.seed)
    torch.set_num_threads(max(1, settings.classifier.threads))
    log.info(
        "training on %d examples, %d dev rows, base %s, %d pieces",
        len(inputs.examples),
        len(inputs.all_dev),
        inputs.base_name,
        inputs.vocabulary,
    )
    model = EncoderClassifier(inputs.base_dir, len(inputs.labels), config.trainable_layers)
    train_windows = inputs.states(inputs.examples, config.train_chunks)[model.cut]
    fine_tuned(model, train_windows, inputs, "fine-tuned")
    return finish(inputs, model, train_windows, root / inputs.key[:16], make_current)


def fine_tuned(
    model: EncoderClassifier,
    windows: Windows,
    inputs: Inputs,
    name: str,
    soft: Any | None = None,
    soft_weight: float = 0.5,
) -> None:
    """Fine-tune ``model`` (``fine_tune``), or load its weights from the cache: they are kept
    under ``name`` and the fine-tune key, so changing what follows (cross-fitting, cues,
    combination, export) costs minutes, not a fine-tune."""
    import torch

    path = inputs.root / "states" / f"{inputs.fine_tune_key[:16]}-{name}.pt"
    top = model.bert.encoder.layer[model.cut :]
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        top.load_state_dict(saved["upper"])
        model.head.load_state_dict(saved["head"])
        return
    y = torch.from_numpy(targets(inputs.examples, inputs.labels))
    fine_tune(model, windows, y, inputs.config, inputs.progress, soft=soft, soft_weight=soft_weight)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"upper": top.state_dict(), "head": model.head.state_dict()}, path)


def finish(inputs: Inputs, model: EncoderClassifier, train_windows: Windows, out_dir: Path, make_current: bool) -> Path:
    """Cross-fit on the dev rows, export int8 ONNX, write ``meta.json`` and the report into
    ``out_dir`` (atomically: a ``.partial`` folder renamed at the end)."""
    import torch

    labels, dev, settings = inputs.labels, inputs.dev, inputs.settings
    reports: dict[str, dict[str, Any]] = {}
    method, weights, thresholds = "model alone", None, {label: 0.5 for label in labels}
    name = "fine-tuned-top-layers"
    if dev:
        dev_windows = inputs.states(inputs.all_dev, inputs.config.max_chunks)[model.cut]
        y = targets(inputs.examples, labels)
        name, combination, model.head = _select(model, train_windows, y, dev_windows, inputs, reports)
        method, weights, thresholds = combination.method, combination.weights, combination.final_thresholds

    tmp_dir = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    export_onnx(model, tmp_dir)
    shutil.copy(inputs.base_dir / "tokenizer.json", tmp_dir / "tokenizer.json")
    torch.save(
        {
            "cut": model.cut,
            "layers": model.bert.config.num_hidden_layers,
            "upper": model.bert.encoder.layer[model.cut :].state_dict(),
            "head": model.head.state_dict(),
            "base_dir": str(inputs.base_dir),
        },
        tmp_dir / "torch_top.pt",
    )
    meta: dict[str, Any] = {
        "name": name,
        "base_model": inputs.base_name,
        "layers": model.bert.config.num_hidden_layers,
        "vocabulary": inputs.vocabulary,
        "labels": labels,
        "fields": inputs.fields,
        "max_length": inputs.config.max_length,
        "max_chunks": inputs.config.max_chunks,
        "window": "chunks",
        "combiner": {
            "method": method,
            "features": list(FEATURES),
            "weights": dict(zip(labels, weights.round(5).tolist())) if weights is not None else None,
        },
        "thresholds": thresholds,
        "config": asdict(inputs.config),
        "inputs_hash": inputs.key,
        "train_examples": len(inputs.examples),
        "dev_rows": {c: len(rows) for c, rows in dev.items()},
    }
    (tmp_dir / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if dev:
        shipped = OnnxTagger(tmp_dir, settings)
        reports["int8 model as exported, in sample (its head, combiner and thresholds saw every dev row)"] = {
            c: evaluate_tagger(shipped, rows) for c, rows in dev.items()
        }
        meta["dev_metrics"] = {
            variant: {c: summary_row(report) for c, report in per_set.items()} for variant, per_set in reports.items()
        }
        (tmp_dir / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    (tmp_dir / "report.json").write_text(json.dumps(reports, indent=1, ensure_ascii=False), encoding="utf-8")
    (tmp_dir / "model-fp32.onnx").unlink()
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    if make_current:
        (inputs.root / "CURRENT").write_text(out_dir.name, encoding="utf-8")
    return out_dir


def _select(
    model: EncoderClassifier,
    train_windows: Windows,
    y: np.ndarray,
    dev_windows: Windows,
    inputs: Inputs,
    reports: dict[str, Any],
) -> tuple[str, Combination, Any]:
    """Score every variant out of fold on the dev rows (into ``reports``) and return the best
    cross-fitted one (by mean macro-F1 of the dev sets): its name, its combination and its head."""
    dev, labels, fields, config = inputs.dev, inputs.labels, inputs.fields, inputs.config
    all_dev = inputs.all_dev
    y_dev = targets(all_dev, labels)
    train_features = WindowFeatures(pooled(model, train_windows.states, 32), train_windows.owner)
    dev_features = WindowFeatures(pooled(model, dev_windows.states, 32), dev_windows.owner)
    cues = cue_matrix([(e.title, e.text) for e in all_dev], labels)
    folds = fold_ids([c for c, rows in dev.items() for _ in rows], config.folds, config.seed)
    reports["keywords-placeholder"] = {c: evaluate_tagger(KeywordTagger(), rows) for c, rows in dev.items()}
    heads = cross_fit_heads(
        model.head,
        train_features,
        y,
        dev_features,
        y_dev,
        folds,
        dev_weight=config.dev_weight,
        steps=config.head_steps,
        lr=config.head_learning_rate,
        weight_decay=config.weight_decay,
    )
    without_dev = head_probabilities(model.head, dev_features, len(all_dev))
    candidates: list[tuple[float, str, Combination, Any]] = []
    for head_name, probs, head in (
        ("head without dev rows", without_dev, model.head),
        ("cross-fitted head", heads.probs, heads.final),
    ):
        for method in COMBINATIONS:
            combination = fold_combination(method, probs, cues, y_dev, folds, labels)
            variant = f"{head_name} + {method} (out of fold)"
            reports[variant] = _report(dev, combination.combined, combination.thresholds, labels, fields)
            candidates.append((_mean_macro(reports[variant]), variant, combination, head))
    _, variant, combination, head = max(candidates, key=lambda c: c[0])
    return variant, combination, head


def _report(
    dev: dict[str, list[Example]],
    probs: np.ndarray,
    thresholds: list[dict[str, float]],
    labels: list[str],
    fields: dict[str, list[str]],
) -> dict[str, Any]:
    """Each dev set scored from per-row probabilities and per-row thresholds."""
    out, row = {}, 0
    for corpus, rows in dev.items():
        pred = {}
        for example in rows:
            scores = dict(zip(labels, probs[row].tolist()))
            tags = tags_from_scores(example.title, example.text, scores, thresholds[row], fields)
            pred[example.id] = tags_to_labels(tags)
            row += 1
        out[corpus] = score({e.id: e.labels() for e in rows}, pred)
    return out


def _mean_macro(per_set: dict[str, dict[str, Any]]) -> float:
    return float(np.mean([report["macro_f1"] for report in per_set.values()]))


def load_torch_classifier(model_dir: Path) -> Any:
    """The trained model in PyTorch fp32 (benchmarks compare it with the int8 ONNX export)."""
    require_torch()
    return load_classifier(model_dir).module()


def load_classifier(model_dir: Path) -> EncoderClassifier:
    """A trained model folder's PyTorch model (teacher or student)."""
    import torch

    saved = torch.load(model_dir / "torch_top.pt", weights_only=True)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    layers = saved.get("layers")
    model = EncoderClassifier(
        Path(saved["base_dir"]),
        len(meta["labels"]),
        layers - saved["cut"] if layers else meta["config"]["trainable_layers"],
        layers,
    )
    model.bert.encoder.layer[saved["cut"] :].load_state_dict(saved["upper"])
    model.head.load_state_dict(saved["head"])
    return model
