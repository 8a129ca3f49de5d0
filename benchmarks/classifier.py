"""Classifier speed and quality, models side by side in one run on the same CPU threads: each as
int8 ONNX (what tags in production) on the 290 dev articles, with its out-of-fold dev macro-F1
from its manifest/meta (the honest number: the shipped head saw every dev row). Goal (issue 13):
the student ≥ 2× the teacher's articles/s with macro-F1 within 1 point. ``--fp32`` adds each
model in PyTorch fp32 (needs the ``train`` extra) with how far int8 moves its probabilities.

    python benchmarks/classifier.py [MODEL_DIR ...] [--threads 2] [--repeat 1] [--fp32]

Without MODEL_DIR: the shipped model and, when `vigia train` built one here, the current one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.corpora import DEV_CORPORA, default_shared_dir, load_dev
from classifiers.infer import SHIPPED_MODEL, OnnxTagger, find_trained_model
from vigia.config import get_settings


def timed(tagger: OnnxTagger, docs: list[tuple[str, str]], repeat: int) -> tuple[float, np.ndarray]:
    tagger.probabilities(docs[:8])  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        probs = tagger.probabilities(docs)
    return len(docs) * repeat / (time.perf_counter() - start), probs


def out_of_fold_macro(meta: dict[str, Any]) -> dict[str, float]:
    per_set = meta.get("dev_metrics", {}).get(meta["name"], {})
    return {corpus: row["macro_f1"] for corpus, row in per_set.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model folders (default: shipped + current)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the dev articles")
    parser.add_argument("--fp32", action="store_true", help="also time each model in PyTorch fp32")
    args = parser.parse_args()
    settings = settings_with_threads(args.threads)
    models = args.models or list(dict.fromkeys(m for m in (SHIPPED_MODEL, find_trained_model(settings)) if m))
    shared = default_shared_dir()
    if not (shared / "corpora").is_dir():
        print(f"the dev sets are read from {shared}, which is absent", file=sys.stderr)
        return 2
    docs = [(e.title, e.text) for c in DEV_CORPORA for e in load_dev(shared, c)]
    rows: dict[str, dict[str, Any]] = {}
    for model_dir in models:
        tagger = OnnxTagger(model_dir, settings)
        rate, probs = timed(tagger, docs, args.repeat)
        size = sum(p.stat().st_size for p in model_dir.glob("*") if p.name in ("model.onnx", "tokenizer.json"))
        name = f"{model_dir.parent.name}/{model_dir.name}"
        rows[name] = {
            "layers": tagger.meta.get("layers", 12),
            "articles_per_s": round(rate, 2),
            "MB": round(size / 1e6, 1),
            **{f"oof_macro_f1[{c}]": v for c, v in out_of_fold_macro(tagger.meta).items()},
        }
        if args.fp32:
            rows[name + " fp32"] = fp32_row(model_dir, tagger, docs, args, probs)
    print(f"{len(docs)} dev articles, {args.threads} threads, window {tagger.window}")
    first = next(iter(rows.values()))["articles_per_s"]
    for name, row in rows.items():
        print(
            f"{name:48s} "
            + "  ".join(f"{k}={v}" for k, v in row.items())
            + f"  speed×={row['articles_per_s'] / first:.2f}"
        )
    print(json.dumps(rows))
    return 0


def fp32_row(
    model_dir: Path, tagger: OnnxTagger, docs: list[tuple[str, str]], args: argparse.Namespace, int8: np.ndarray
) -> dict[str, Any]:
    """The same model in PyTorch fp32 (the benchmark swaps the forward pass) and int8's drift."""
    import torch

    from classifiers.training.train import load_torch_classifier

    torch.set_num_threads(args.threads)
    module = load_torch_classifier(model_dir)

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    fp32_tagger = OnnxTagger(model_dir, settings_with_threads(args.threads))
    fp32_tagger.forward = forward  # type: ignore[method-assign]
    rate, probs = timed(fp32_tagger, docs, args.repeat)
    thresholds = np.array([tagger.thresholds[label] for label in tagger.labels])
    flipped = (int8 >= thresholds) != (probs >= thresholds)
    return {
        "articles_per_s": round(rate, 2),
        "int8_mean_abs_dp": round(float(np.abs(int8 - probs).mean()), 4),
        "int8_decisions_flipped": f"{int(flipped.sum())}/{flipped.size}",
    }


def settings_with_threads(threads: int) -> Any:
    """The CLI's settings (VIGIA_HOME, cache dir, config file) with the classifier's threads set."""
    base = get_settings()
    return base.model_copy(update={"classifier": base.classifier.model_copy(update={"threads": threads})})


if __name__ == "__main__":
    sys.exit(main())
