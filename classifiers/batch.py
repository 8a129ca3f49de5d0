"""File-level use of a tagger: ``vigia classify`` (JSONL in → JSONL out) and ``vigia evaluate``
(gold labels + articles → the score report). Input errors name the file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from classifiers.base import Tagger
from classifiers.corpora import LABEL_KEYS, Example, read_jsonl
from classifiers.evaluate import evaluate_tagger
from vigia.errors import InputError

REQUIRED = ("id", "title", "text")


def read_classify_input(path: Path) -> Iterator[tuple[str, str, str]]:
    """(id, title, text) per line; a missing or non-string field is an error naming line and field.
    A null title (real feeds have untitled items) reads as an empty one."""
    seen: set[str] = set()
    for number, obj in read_jsonl(path):
        missing = [key for key in REQUIRED if key not in obj]
        if missing:
            raise InputError(f"{path}:{number}: missing field(s) {missing}; each line needs id, title and text")
        if obj["title"] is None:
            obj["title"] = ""
        wrong = [key for key in REQUIRED if not isinstance(obj[key], str)]
        if wrong:
            raise InputError(f"{path}:{number}: field(s) {wrong} must be strings (title may be null)")
        if obj["id"] in seen:
            raise InputError(f"{path}:{number}: duplicate id {obj['id']!r}")
        seen.add(obj["id"])
        yield obj["id"], obj["title"], obj["text"]


def classify_file(tagger: Tagger, in_path: Path, out: TextIO, batch_size: int = 32) -> int:
    """Tag every line of ``in_path``, writing one JSON line per article; returns the count."""
    count = 0
    batch: list[tuple[str, str, str]] = []

    def flush() -> None:
        for (doc_id, _, _), tags in zip(batch, tagger.tag([(title, text) for _, title, text in batch])):
            row: dict[str, Any] = {
                "id": doc_id,
                "violence_type": tags.violence_type,
                "actor": tags.actor,
                "department": tags.department,
                "in_el_salvador": tags.in_el_salvador,
                "scores": tags.scores,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        batch.clear()

    for item in read_classify_input(in_path):
        batch.append(item)
        count += 1
        if len(batch) >= batch_size:
            flush()
    flush()
    return count


def load_gold(labels_path: Path, articles_path: Path | None) -> list[Example]:
    """Gold labels joined with their texts: from ``articles_path`` (by id), or from the labels
    file itself when it carries title and text; default articles: ``articles.jsonl`` beside it."""
    if articles_path is None and (labels_path.parent / "articles.jsonl").is_file():
        articles_path = labels_path.parent / "articles.jsonl"
    gold = list(read_jsonl(labels_path))
    wanted = {obj.get("id") for _, obj in gold}
    texts: dict[str, dict[str, Any]] = {}
    if articles_path is not None:
        for _, obj in read_jsonl(articles_path):
            if obj.get("id") in wanted:
                texts[obj["id"]] = obj
    examples = []
    for number, obj in gold:
        where = f"{labels_path}:{number}"
        missing = [key for key in ("id", *LABEL_KEYS) if key not in obj]
        if missing:
            raise InputError(f"{where}: missing field(s) {missing}")
        source = texts.get(obj["id"], obj)
        if "text" not in source:
            hint = f"not in {articles_path}" if articles_path else "no text: pass --articles FILE"
            raise InputError(f"{where}: article {obj['id']!r} has {hint}")
        examples.append(
            Example(obj["id"], source.get("title") or "", source["text"], **{key: obj[key] for key in LABEL_KEYS})
        )
    return examples


def evaluate_files(tagger: Tagger, labels_path: Path, articles_path: Path | None = None) -> dict[str, Any]:
    return evaluate_tagger(tagger, load_gold(labels_path, articles_path))
