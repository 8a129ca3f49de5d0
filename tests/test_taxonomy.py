"""The project's taxonomy is exactly the product owner's (shared/specs/taxonomy.md)."""

import re
from pathlib import Path

import pytest

from classifiers.taxonomy import FIELDS, load_taxonomy
from vigia.errors import InputError

SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "specs" / "taxonomy.md"


def spec_ids() -> dict[str, list[str]]:
    """Label ids per section of the spec: the first backticked cell of each table row."""
    ids: dict[str, list[str]] = {}
    section = None
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\w+)", line)
        if heading:
            section = heading.group(1)
        row = re.match(r"^\| `(\w+)` \|", line)
        if row and section:
            ids.setdefault(section, []).append(row.group(1))
    return ids


@pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} is absent (the shared folder is not mounted)")
def test_ids_match_the_spec_in_order() -> None:
    taxonomy = load_taxonomy()
    expected = spec_ids()
    assert set(expected) == set(FIELDS)
    for field in FIELDS:
        assert taxonomy.ids(field) == expected[field]


def test_every_label_has_a_definition_and_cues() -> None:
    taxonomy = load_taxonomy()
    assert len(taxonomy.ids("violence_type")) == 11 and len(taxonomy.ids("actor")) == 9
    for label in taxonomy.labels:
        assert label.definition and label.cues, label.id
    assert taxonomy.field_of("ms13") == "actor"
    with pytest.raises(InputError, match="unknown label id"):
        taxonomy.field_of("robbery")
