"""Which tagger a crawl uses: the trained model when there is one, else the keyword placeholder."""

from __future__ import annotations

import logging

from classifiers.base import Tagger
from classifiers.infer import OnnxTagger, find_trained_model
from classifiers.keywords import KeywordTagger
from vigia.config import Settings

log = logging.getLogger(__name__)

_warned = False


def load_tagger(settings: Settings) -> Tagger:
    """The trained ONNX model from the cache when ``vigia train`` has built one; otherwise the
    placeholder keyword tagger, with one warning per process saying how to build the model."""
    global _warned
    model_dir = find_trained_model(settings)
    if model_dir is not None:
        return OnnxTagger(model_dir, settings)
    if not _warned:
        log.warning(
            "no trained classifier in %s: using the placeholder keyword tagger (run `vigia train` to build the model)",
            settings.classifier.model_dir(settings.cache_dir),
        )
        _warned = True
    return KeywordTagger()
