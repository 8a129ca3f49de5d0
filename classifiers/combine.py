"""The learned combiner: per label, the model's probability and the keyword cues → one probability.

The first model mixed them with a fixed weight, ``0.5 · model + 0.5 · [a cue fired]``, which lets
a single keyword ("ataque" in a football report) carry a label over its threshold. Here each label
has its own logistic weights over the model's logit and two cue features, fitted out of fold on
the labelled Salvadoran dev rows by ``vigia train`` (``classifiers/training/crossfit.py``) and
stored in the model's ``meta.json``. Numpy only: tagging needs no training stack.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
