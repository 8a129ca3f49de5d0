"""Spanish names of taxonomy ids and index fields (``labels.yaml``), for every place people read
them: the web page, chart legends, e-mails."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, str]]:
    return yaml.safe_load(resources.files("vigia.search").joinpath("labels.yaml").read_text(encoding="utf-8"))


def label(value: str, field: str) -> str:
    """The Spanish name of ``value`` of ``field`` (the value itself when it has none, e.g. places)."""
    return labels().get(field, {}).get(value, value)
