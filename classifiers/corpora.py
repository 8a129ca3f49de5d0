"""Labelled articles: the project's written corpus, the Mexican labels joined with their texts in
``shared``, and the dev sets. Rows with ``"split": "test"`` are dropped as they are read, before
their text is kept anywhere: they are held out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.taxonomy import load_taxonomy
from vigia.errors import InputError

DATA_DIR = Path(__file__).parent / "data"
DEV_CORPORA = ("sv-news-2024", "sv-sections-2023")
MX_CORPUS = "mx-ljz-2013"
LABEL_KEYS = ("violence_type", "actor", "department", "in_el_salvador")


@dataclass
class Example:
    id: str
    title: str
    text: str
    violence_type: list[str] = field(default_factory=list)
    actor: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    in_el_salvador: bool = True

    def labels(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in LABEL_KEYS}


def default_shared_dir() -> Path:
    """``../shared`` next to the repository (where the team's shared material is mounted)."""
    return Path(__file__).resolve().parents[1].parent / "shared"


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) pairs; a broken line is an error naming the file and line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}:{number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8)"
                ) from exc
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg}); fix or remove the line") from exc
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
            yield number, obj


def _checked_labels(obj: dict[str, Any], where: str) -> dict[str, Any]:
    taxonomy = load_taxonomy()
    missing = [key for key in LABEL_KEYS if key not in obj]
    if missing:
        raise InputError(f"{where}: missing label field(s) {missing}")
    for key in ("violence_type", "actor"):
        unknown = set(obj[key]) - set(taxonomy.ids(key))
        if unknown:
            raise InputError(f"{where}: unknown {key} id(s) {sorted(unknown)}; see classifiers/taxonomy.yaml")
    return {key: obj[key] for key in LABEL_KEYS}


def load_written(data_dir: Path = DATA_DIR) -> list[Example]:
    """The project's own labelled articles (``written_*.jsonl``: labels plus title and text)."""
    examples = []
    for path in sorted(data_dir.glob("written_*.jsonl")):
        for number, obj in read_jsonl(path):
            where = f"{path}:{number}"
            if not obj.get("id") or "text" not in obj:
                raise InputError(f"{where}: a written example needs 'id', 'title' and 'text'")
            examples.append(Example(obj["id"], obj.get("title") or "", obj["text"], **_checked_labels(obj, where)))
    return examples


def read_articles(path: Path, split: str | None = None) -> dict[str, dict[str, Any]]:
    """Articles by id; with ``split``, only rows of that split (others are skipped unread)."""
    if split == "test":
        raise InputError("test rows are held out: they are never read for training or tuning")
    rows = {}
    for _, obj in read_jsonl(path):
        if split is not None and obj.get("split") != split:
            continue
        rows[obj["id"]] = obj
    return rows


def join_labels(labels_path: Path, articles_path: Path, split: str | None = None) -> list[Example]:
    """Labels that reference articles by id, joined with the articles' title and text."""
    articles = read_articles(articles_path, split)
    examples = []
    for number, obj in read_jsonl(labels_path):
        where = f"{labels_path}:{number}"
        article = articles.get(obj.get("id"))
        if article is None:
            raise InputError(
                f"{where}: id {obj.get('id')!r} is not in {articles_path}" + (f" (split {split})" if split else "")
            )
        examples.append(
            Example(obj["id"], article.get("title") or "", article.get("text") or "", **_checked_labels(obj, where))
        )
    return examples


def load_mx(shared: Path, data_dir: Path = DATA_DIR) -> list[Example]:
    """Our labels for La Jornada Zacatecas articles (``mx_ljz_labels*.jsonl``, one file per
    labelling round), with the texts read from ``shared``."""
    articles = shared / "corpora" / MX_CORPUS / "articles.jsonl"
    if not articles.is_file():
        return []
    return [e for labels in sorted(data_dir.glob("mx_ljz_labels*.jsonl")) for e in join_labels(labels, articles)]


def load_dev(shared: Path, corpus: str) -> list[Example]:
    """A dev set: the ``"split": "dev"`` rows of ``shared/corpora/<corpus>`` with their gold labels."""
    folder = shared / "corpora" / corpus
    if not (folder / "dev_labels.jsonl").is_file():
        raise InputError(f"no dev labels at {folder}/dev_labels.jsonl: is the shared folder mounted?")
    return join_labels(folder / "dev_labels.jsonl", folder / "articles.jsonl", split="dev")
