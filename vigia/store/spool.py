"""The spool: articles that could not be written wait here until the engine takes them."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vigia.models import Article


class Spool:
    """An append-only JSON-lines file of articles that could not be written, guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, articles: Sequence[Article]) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            for article in articles:
                handle.write(json.dumps(article.to_doc(), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return len(articles)

    class _Locked:
        def __init__(self, spool: Spool) -> None:
            self.spool = spool

        def __enter__(self) -> list[Article]:
            self.spool.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.spool.path, "a+", encoding="utf-8")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            self.handle.seek(0)
            return [Article.from_doc(json.loads(line)) for line in self.handle if line.strip()]

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def locked(self) -> Spool._Locked:
        return Spool._Locked(self)

    def clear(self) -> None:
        with open(self.path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)


class RecordSpool:
    """Records (crawl records) that could not be written: JSON lines of ``{"name", "id", "doc"}``,
    written on the next connection. Ids make the replay idempotent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, name: str, ids: Sequence[str], docs: Sequence[dict[str, Any]]) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            for key, doc in zip(ids, docs, strict=True):
                handle.write(json.dumps({"name": name, "id": key, "doc": doc}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return len(docs)

    def take(self, write: Callable[[str, list[str], list[dict[str, Any]]], None]) -> int:
        """Hand every spooled record to ``write`` (per name), under the lock; cleared once all are written."""
        if not self.pending():
            return 0
        with open(self.path, "r+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            rows = [json.loads(line) for line in handle if line.strip()]
            for name in dict.fromkeys(row["name"] for row in rows):
                mine = [row for row in rows if row["name"] == name]
                write(name, [row["id"] for row in mine], [row["doc"] for row in mine])
            handle.truncate(0)
        return len(rows)
