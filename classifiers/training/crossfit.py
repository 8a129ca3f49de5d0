"""Cross-fitting on the dev rows: the only real Salvadoran labels take part in training, and every
dev number is still out of fold.

The dev rows are cut into ``k`` folds (per dev set, seeded). For fold ``f`` the classification head
is refitted — from the fine-tuned head, on the fine-tuned encoder's window vectors — on the
training articles plus the dev rows of the other folds, and scores only fold ``f``'s rows. The
combiner and the thresholds applied to fold ``f`` are fitted on the other folds' out-of-fold
probabilities. The shipped model's head is refitted on all rows; its combiner and thresholds are
fitted on all out-of-fold probabilities. (The encoder's top layers are fine-tuned once, without
dev rows: k fine-tunes do not fit a CPU budget.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifiers.combine import FEATURES, IDENTITY, combined, design


def fold_ids(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """A fold per row, dealt round-robin over a seeded shuffle of each group (dev set), so every
    fold holds both sets in proportion."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(groups), dtype=np.int64)
    for group in sorted(set(groups)):
        rows = np.flatnonzero(np.asarray(groups) == group)
        folds[rng.permutation(rows)] = np.arange(len(rows)) % k
    return folds


def windows_of(owner: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The windows (indices into ``owner``) of ``docs`` and, for each, its document's position in ``docs``."""
    position = {int(d): k for k, d in enumerate(docs)}
    index = np.flatnonzero(np.isin(owner, docs))
    return index, np.array([position[int(d)] for d in owner[index]], dtype=np.int64)


@dataclass
class WindowFeatures:
    """Pooled vectors of every window and the index of its document."""

    vectors: Any  # torch.Tensor (windows × hidden)
    owner: np.ndarray

    def subset(self, docs: np.ndarray) -> WindowFeatures:
        """The windows of ``docs``, owners renumbered to positions in ``docs``."""
        index, position = windows_of(self.owner, docs)
        return WindowFeatures(self.vectors[index], position)

    def joined(self, other: WindowFeatures, offset: int) -> WindowFeatures:
        import torch

        return WindowFeatures(
            torch.cat([self.vectors, other.vectors]), np.concatenate([self.owner, other.owner + offset])
        )


def fit_head(
    init: Any, features: WindowFeatures, y: Any, weights: Any, steps: int, lr: float, weight_decay: float
) -> Any:
    """A copy of ``init`` trained full-batch (AdamW) on the documents' best-window logits, each
    document's loss weighted."""
    import copy

    import torch

    head = copy.deepcopy(init).train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    owner = torch.from_numpy(features.owner)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(doc_max(head(features.vectors), owner, y.shape[0]), y).mean(1)
        (loss * weights).sum().div(weights.sum()).backward()
        optimizer.step()
    return head.eval()


def head_probabilities(head: Any, features: WindowFeatures, n_docs: int) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.sigmoid(doc_max(head(features.vectors), torch.from_numpy(features.owner), n_docs)).numpy()


def fit_combiner(probs: np.ndarray, cues: np.ndarray, y: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Per label, logistic weights over ``FEATURES`` (L-BFGS), pulled towards ``IDENTITY`` with an
    L2 penalty of ``strength``: a label with few positives stays close to the model alone."""
    from scipy.optimize import minimize

    x = design(probs, cues)
    prior = np.asarray(IDENTITY, dtype=np.float64)
    out = np.zeros((y.shape[1], len(FEATURES)), dtype=np.float32)
    for col in range(y.shape[1]):
        xc, yc = x[:, col].astype(np.float64), y[:, col].astype(np.float64)

        def loss(w: np.ndarray, xc: np.ndarray = xc, yc: np.ndarray = yc) -> tuple[float, np.ndarray]:
            z = xc @ w
            nll = np.logaddexp(0, z) - yc * z
            grad = xc.T @ (1 / (1 + np.exp(-z)) - yc)
            return float(nll.sum() + strength / 2 * ((w - prior) ** 2).sum()), grad + strength * (w - prior)

        out[col] = minimize(loss, prior, jac=True, method="L-BFGS-B").x
    return out


def doc_max(logits: Any, owner: Any, n_docs: int) -> Any:
    """Each document's logits: the highest of its windows' (tagging keeps the highest probability)."""
    import torch

    out = torch.full((n_docs, logits.shape[1]), float("-inf"), dtype=logits.dtype)
    return out.scatter_reduce(0, owner[:, None].expand_as(logits), logits, reduce="amax")


def calibrate(probs: np.ndarray, y: np.ndarray, labels: list[str], min_support: int = 3) -> dict[str, float]:
    """Per-label threshold maximising F1 on the rows given; 0.5 where they hold too few positives."""
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


@dataclass
class Heads:
    """Out-of-fold model probabilities of the dev rows, and the head fitted on every row."""

    folds: np.ndarray
    probs: np.ndarray  # row r scored by the head that did not see fold(r)
    trained_on: dict[int, np.ndarray]  # fold → the dev rows its head was fitted on
    final: Any


def cross_fit_heads(
    init_head: Any,
    train: WindowFeatures,
    y_train: np.ndarray,
    dev: WindowFeatures,
    y_dev: np.ndarray,
    folds: np.ndarray,
    *,
    dev_weight: float,
    steps: int,
    lr: float,
    weight_decay: float,
) -> Heads:
    import torch

    n_train, n_dev = y_train.shape[0], y_dev.shape[0]

    def head_on(dev_rows: np.ndarray) -> Any:
        features = train.joined(dev.subset(dev_rows), n_train)
        y = torch.from_numpy(np.concatenate([y_train, y_dev[dev_rows]]))
        weights = torch.cat([torch.ones(n_train), torch.full((len(dev_rows),), dev_weight)])
        return fit_head(init_head, features, y, weights, steps, lr, weight_decay)

    probs = np.zeros_like(y_dev)
    trained_on = {}
    for fold in np.unique(folds):
        scored, seen = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        probs[scored] = head_probabilities(head_on(seen), dev.subset(scored), len(scored))
        trained_on[int(fold)] = seen
    return Heads(folds, probs, trained_on, head_on(np.arange(n_dev)))


@dataclass
class Combination:
    """A way of combining model and cues, scored out of fold, and its parameters fitted on all rows."""

    method: str
    combined: np.ndarray  # out of fold: each fold combined with parameters fitted on the other folds
    thresholds: list[dict[str, float]]  # per row: its fold's thresholds (fitted on the other folds)
    weights: np.ndarray | None  # the learned combiner fitted on all rows (None for the other methods)
    final_thresholds: dict[str, float]


def fold_combination(
    method: str, probs: np.ndarray, cues: np.ndarray, y: np.ndarray, folds: np.ndarray, labels: list[str]
) -> Combination:
    """``method`` applied out of fold (its parameters and thresholds fitted on the other folds),
    and fitted on every row for the shipped model."""

    def fitted(rows: np.ndarray) -> np.ndarray | None:
        return fit_combiner(probs[rows], cues[rows], y[rows]) if method == "learned combiner" else None

    out = np.zeros_like(probs)
    row_thresholds: list[dict[str, float]] = [{} for _ in range(len(probs))]
    for fold in np.unique(folds):
        scored, rest = folds == fold, folds != fold
        weights = fitted(rest)
        thresholds = calibrate(combined(method, probs[rest], cues[rest], labels, weights), y[rest], labels)
        out[scored] = combined(method, probs[scored], cues[scored], labels, weights)
        for row in np.flatnonzero(scored):
            row_thresholds[row] = thresholds
    weights = fitted(np.arange(len(probs)))
    final = calibrate(combined(method, probs, cues, labels, weights), y, labels)
    return Combination(method, out, row_thresholds, weights, final)
