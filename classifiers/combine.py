"""Per label, the model's probability and the keyword cues → one probability.

Three ways, scored out of fold by ``vigia train`` (``classifiers/training/crossfit.py``), which
ships the best and names it in ``meta.json``: the model alone; the first model's fixed blend,
``0.5 · model + 0.5 · [a cue fired]`` (a single keyword can carry a label over its threshold);
and a learned combiner, per-label logistic weights over the model's logit and two cue features,
fitted on the labelled Salvadoran dev rows. Numpy only: tagging needs no training stack.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COMBINATIONS = ("model alone", "fixed blend", "learned combiner")
FEATURES = ("model_logit", "cue_fired", "cue_graded", "bias")
IDENTITY = (1.0, 0.0, 0.0, 0.0)  # the model's probability unchanged: the prior of every fit


def cue_matrix(docs: Sequence[tuple[str, str]], labels: Sequence[str]) -> np.ndarray:
    """Per document and label: (a cue fired, 1 − 0.5^sentences with a cue); zeros for labels
    the keyword tagger has no cues for (``in_el_salvador``)."""
    from classifiers.keywords import KeywordTagger

    keywords = KeywordTagger()
    out = np.zeros((len(docs), len(labels), 2), dtype=np.float32)
    for row, (title, text) in enumerate(docs):
        scores = keywords.label_scores(title, text)
        for col, label in enumerate(labels):
            graded = scores.get(label, 0.0)
            out[row, col] = (float(graded > 0), graded)
    return out


def design(probs: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """The combiner's inputs, (documents, labels, ``FEATURES``)."""
    p = np.clip(probs, 1e-4, 1 - 1e-4)
    logit = np.log(p / (1 - p))
    return np.concatenate([logit[..., None], cues, np.ones_like(logit)[..., None]], axis=-1).astype(np.float32)


def combine(probs: np.ndarray, cues: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Combined probabilities; ``weights`` is (labels, ``FEATURES``)."""
    z = np.einsum("nlf,lf->nl", design(probs, cues), weights)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def has_cues(labels: Sequence[str]) -> np.ndarray:
    """Which labels the keyword tagger has cues for (every taxonomy label; not ``in_el_salvador``)."""
    from classifiers.taxonomy import load_taxonomy

    cued = {label.id for label in load_taxonomy().labels}
    return np.array([label in cued for label in labels])


def combined(
    method: str, probs: np.ndarray, cues: np.ndarray, labels: Sequence[str], weights: np.ndarray | None = None
) -> np.ndarray:
    """``probs`` and ``cues`` (columns in ``labels`` order) combined by ``method``; ``weights``:
    the learned combiner's, (labels, ``FEATURES``)."""
    if method == "model alone":
        return probs
    if method == "fixed blend":
        return np.where(has_cues(labels), 0.5 * probs + 0.5 * cues[..., 0], probs).astype(np.float32)
    if method == "learned combiner" and weights is not None:
        return combine(probs, cues, weights)
    raise ValueError(f"unknown combination {method!r} (or no weights): one of {COMBINATIONS}")
