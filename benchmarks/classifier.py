"""Classifier speed and quality: the same trained model, in the same run, on the same CPU threads,
as int8 ONNX (production) and as PyTorch fp32. Prints articles/s and dev macro-F1 side by side.
Goal (issue 5): ONNX int8 ≥ 3× the articles/s of PyTorch fp32, macro-F1 within 1 point. Also
prints how far the int8 label probabilities are from fp32's (mean and max |Δp|, decisions flipped).

    python benchmarks/classifier.py [--model-dir DIR] [--threads 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from classifiers.corpora import DEV_CORPORA, default_shared_dir, load_dev
from classifiers.evaluate import evaluate_tagger
from classifiers.infer import OnnxTagger, find_trained_model
from vigia.config import get_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="a trained model folder (default: the CURRENT one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the dev articles")
    args = parser.parse_args()
    base = get_settings()  # the CLI's settings (VIGIA_HOME, cache dir, config file)
    settings = base.model_copy(update={"classifier": base.classifier.model_copy(update={"threads": args.threads})})
    model_dir = args.model_dir or find_trained_model(settings)
    if model_dir is None:
        print("no trained model: run `vigia train` first", file=sys.stderr)
        return 2
    shared = default_shared_dir()
    if not (shared / "corpora").is_dir():
        print(f"the dev sets are read from {shared}, which is absent", file=sys.stderr)
        return 2

    import torch

    from classifiers.training.train import load_torch_classifier

    torch.set_num_threads(args.threads)
    dev = {c: load_dev(shared, c) for c in DEV_CORPORA}
    docs = [(e.title, e.text) for rows in dev.values() for e in rows]
    onnx_tagger = OnnxTagger(model_dir, settings)
    torch_tagger = OnnxTagger(model_dir, settings)
    module = load_torch_classifier(model_dir)

    def torch_forward(ids, mask):
        with torch.inference_mode():
            return module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    torch_tagger.forward = torch_forward
    rows, probs = {}, {}
    for name, tagger in (("onnx-int8", onnx_tagger), ("pytorch-fp32", torch_tagger)):
        tagger.probabilities(docs[:8])  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeat):
            probs[name] = tagger.probabilities(docs)
        elapsed = time.perf_counter() - start
        reports = {c: evaluate_tagger(tagger, rows_) for c, rows_ in dev.items()}
        rows[name] = {
            "articles_per_s": round(len(docs) * args.repeat / elapsed, 2),
            **{f"macro_f1[{c}]": r["macro_f1"] for c, r in reports.items()},
        }
    rows["onnx-int8"]["speedup"] = round(
        rows["onnx-int8"]["articles_per_s"] / rows["pytorch-fp32"]["articles_per_s"], 2
    )
    delta = np.abs(probs["onnx-int8"] - probs["pytorch-fp32"])
    thresholds = np.array([onnx_tagger.thresholds[label] for label in onnx_tagger.labels])
    flipped = (probs["onnx-int8"] >= thresholds) != (probs["pytorch-fp32"] >= thresholds)
    rows["onnx-int8"].update(
        mean_abs_dp=round(float(delta.mean()), 4),
        max_abs_dp=round(float(delta.max()), 3),
        decisions_flipped=f"{int(flipped.sum())}/{flipped.size}",
    )
    print(
        f"model {model_dir.name} ({onnx_tagger.meta['name']}, window {onnx_tagger.window}), "
        f"{len(docs)} dev articles, {args.threads} threads"
    )
    for name, row in rows.items():
        print(f"{name:14s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
