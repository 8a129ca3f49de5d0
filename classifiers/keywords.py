"""The placeholder keyword tagger: Spanish cues from ``taxonomy.yaml`` plus the gazetteer.

It is the baseline the trained model is compared with, and the fallback when no model has been
built. It matches words, not events, so it over-tags a real feed (a football "ataque", a
"masacre" of prices); use the trained model for anything that matters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from classifiers.base import Tags, consistent_labels
from classifiers.location import event_location
from classifiers.places import find_places, fold
from classifiers.taxonomy import load_taxonomy

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_SALVADOR = re.compile(r"\b(el salvador|salvadorena?s?|salvadorenos?|pnc|fgr|cecot)\b")


def _compile(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile(r"\b(?:" + "|".join(fold(p).lower() for p in patterns) + r")\b")


class KeywordTagger:
    """Tags a label when one of its cues occurs in a sentence without a cancelling context."""

    name = "keywords-placeholder"

    def __init__(self) -> None:
        taxonomy = load_taxonomy()
        self._rules = [(label, _compile(label.cues), _compile(label.negative_context)) for label in taxonomy.labels]
        self._violence_ids = {label.id for label in taxonomy.labels if label.field == "violence_type"}

    def tag(self, docs: Sequence[tuple[str, str]]) -> list[Tags]:
        return [self._tag_one(title, text) for title, text in docs]

    def label_scores(self, title: str, text: str) -> dict[str, float]:
        """Per label 1 − 0.5^n, n = sentences with a cue and no cancelling context (0 = no cue)."""
        sentences = [s for s in _SENTENCE.split(fold(f"{title or ''}\n{text or ''}").lower()) if s.strip()]
        scores: dict[str, float] = {}
        for label, cue, negative in self._rules:
            hits = sum(1 for s in sentences if cue and cue.search(s) and not (negative and negative.search(s)))
            scores[label.id] = round(1.0 - 0.5**hits, 4)
        return scores

    def _tag_one(self, title: str, text: str) -> Tags:
        full = f"{title or ''}\n{text or ''}"
        scores = self.label_scores(title, text)
        tags = Tags(scores=scores)
        found = [l.id for l, _, _ in self._rules if scores[l.id] > 0]
        violence = [l for l in found if l in self._violence_ids]
        if "feminicide" in violence:
            scores["homicide"] = max(scores["homicide"], scores["feminicide"])
        tags.violence_type, tags.actor = consistent_labels(violence, [l for l in found if l not in self._violence_ids])
        places = find_places(full)
        tags.in_el_salvador = bool(places.departments) or bool(_SALVADOR.search(fold(full).lower()))
        if tags.violence_type:
            tags.department, tags.municipality = event_location(title, text)
        return tags
