"""The violence taxonomy (version 1 of ``shared/specs/taxonomy.md``) as data: ids, definitions, cues."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from vigia.errors import ConfigError, InputError

FIELDS = ("violence_type", "actor")
TAXONOMY_FILE = Path(__file__).with_name("taxonomy.yaml")


@dataclass(frozen=True)
class Label:
    id: str
    field: str
    definition: str
    cues: tuple[str, ...]
    negative_context: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: int
    labels: tuple[Label, ...]

    def ids(self, field: str | None = None) -> list[str]:
        """Label ids in file order; of one field when ``field`` is given."""
        return [label.id for label in self.labels if field is None or label.field == field]

    def field_of(self, label_id: str) -> str:
        for label in self.labels:
            if label.id == label_id:
                return label.field
        raise InputError(f"unknown label id {label_id!r}; known: {self.ids()}")


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """Read the packaged ``taxonomy.yaml``; a malformed entry is an error that names it."""
    data = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    labels = []
    for field in FIELDS:
        for label_id, entry in (data.get(field) or {}).items():
            if not entry or "definition" not in entry:
                raise ConfigError(f"taxonomy.yaml: {field}.{label_id} needs a 'definition'")
            labels.append(
                Label(
                    id=label_id,
                    field=field,
                    definition=entry["definition"],
                    cues=tuple(entry.get("cues") or ()),
                    negative_context=tuple(entry.get("negative_context") or ()),
                )
            )
    ids = [label.id for label in labels]
    if len(set(ids)) != len(ids):
        raise ConfigError("taxonomy.yaml: a label id is used twice")
    return Taxonomy(version=int(data["version"]), labels=tuple(labels))
