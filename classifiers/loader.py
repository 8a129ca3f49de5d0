"""Which tagger a crawl uses: the model (built here, else shipped), else the keyword placeholder."""

from __future__ import annotations

import logging

from classifiers.base import Tagger
from classifiers.infer import SHIPPED_MODEL, OnnxTagger, find_trained_model
from classifiers.keywords import KeywordTagger
from vigia.config import Settings

log = logging.getLogger(__name__)

_warned = False


def load_tagger(settings: Settings) -> Tagger:
    """The ONNX model ``find_trained_model`` names; without one (a package missing its model), the
    placeholder keyword tagger, with one warning per process saying how to get the model."""
    global _warned
    model_dir = find_trained_model(settings)
    if model_dir is not None:
        return OnnxTagger(model_dir, settings)
    if not _warned:
        log.warning(
            "no classifier model shipped in %s nor built in %s: using the placeholder keyword tagger "
            "(reinstall vigia, or build the model with `vigia train`)",
            SHIPPED_MODEL,
            settings.classifier.model_dir(settings.cache_dir),
        )
        _warned = True
    return KeywordTagger()
