"""Copy a model ``vigia train`` built into the package (``classifiers/model/``), so that a fresh
install tags without torch or training, and write its manifest: each file's SHA-256 and size, the
hash of the training inputs, and the dev metrics. A model replaces the shipped one only when its
out-of-fold dev numbers are better, unless forced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from classifiers.infer import MODEL_FILES, SHIPPED_MODEL
from classifiers.training.encoder import file_sha256
from vigia.errors import ClassifierError

MAX_SHIPPED_BYTES = 40_000_000
MANIFEST = "manifest.json"


def manifest_for(model_dir: Path) -> dict[str, Any]:
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    return {
        "name": meta["name"],
        "inputs_hash": meta["inputs_hash"],
        "base_model": meta["base_model"],
        "vocabulary": meta["vocabulary"],
        "train_examples": meta["train_examples"],
        "files": {
            name: {"sha256": file_sha256(model_dir / name), "bytes": (model_dir / name).stat().st_size}
            for name in MODEL_FILES
        },
        "dev_metrics": meta.get("dev_metrics", {}),
    }


def manifest_problems(model_dir: Path) -> list[str]:
    """What differs between a shipped model's files and its manifest (empty: they match)."""
    manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for name, expected in manifest["files"].items():
        path = model_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != expected["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest")
    return problems


def selection_score(metrics: dict[str, dict[str, dict[str, float]]], variant: str) -> float:
    """Mean macro-F1 of the dev sets for one variant of a model's out-of-fold report."""
    per_set = metrics.get(variant) or {}
    return sum(row["macro_f1"] for row in per_set.values()) / len(per_set) if per_set else 0.0


def ship(model_dir: Path, dest: Path = SHIPPED_MODEL, force: bool = False) -> dict[str, Any]:
    """Copy ``model_dir``'s files into ``dest`` with a new manifest; returns the manifest."""
    manifest = manifest_for(model_dir)
    size = sum(f["bytes"] for f in manifest["files"].values())
    if size > MAX_SHIPPED_BYTES:
        raise ClassifierError(
            f"{model_dir} holds {size / 1e6:.1f} MB; the shipped model must stay under {MAX_SHIPPED_BYTES / 1e6:.0f} MB"
        )
    new = selection_score(manifest["dev_metrics"], manifest["name"])
    if (dest / MANIFEST).is_file() and not force:
        old_manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        old = selection_score(old_manifest["dev_metrics"], old_manifest["name"])
        if new <= old:
            raise ClassifierError(
                f"the new model's out-of-fold mean macro-F1 ({new:.3f}) does not beat the shipped one's ({old:.3f}); "
                "keep the shipped model, or pass --force to replace it anyway"
            )
    dest.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(model_dir / name, dest / name)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
