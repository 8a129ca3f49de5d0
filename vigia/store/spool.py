"""Spools: what could not be written waits here (articles, crawl records) until the engine takes it."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from vigia.models import Article

log = logging.getLogger(__name__)
T = TypeVar("T")


class JsonLinesSpool(Generic[T]):
    """An append-only JSON-lines file of items that could not be written, guarded by a lock.

    A crash in the middle of an append can leave a truncated last line; such a line costs only
    itself: reading moves it to ``<spool>.rejected`` (kept for inspection) and says so once.
    """

    def __init__(
        self, path: Path, encode: Callable[[T], dict[str, Any]], decode: Callable[[dict[str, Any]], T]
    ) -> None:
        self.path = path
        self._encode = encode
        self._decode = decode

    @property
    def rejected_path(self) -> Path:
        return self.path.with_name(self.path.name + ".rejected")

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, items: Sequence[T]) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            for item in items:
                handle.write(json.dumps(self._encode(item), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return len(items)

    class _Locked(Generic[T]):
        def __init__(self, spool: JsonLinesSpool[T]) -> None:
            self.spool = spool

        def __enter__(self) -> list[T]:
            self.spool.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.spool.path, "ab+")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            return self.spool._read(self.handle)

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def locked(self) -> JsonLinesSpool._Locked[T]:
        """The spooled items, with the spool locked until the block ends (replay, then clear)."""
        return JsonLinesSpool._Locked(self)

    def _read(self, handle: BinaryIO) -> list[T]:
        """The spooled items; unreadable lines are moved to the rejected file (lock held)."""
        handle.seek(0)
        items: list[T] = []
        good: list[bytes] = []
        bad: list[bytes] = []
        for line in handle:
            if not line.strip():
                continue
            try:
                items.append(self._decode(json.loads(line.decode("utf-8"))))
                good.append(line)
            except (ValueError, TypeError, KeyError, AttributeError):  # JSON, UTF-8 and field errors
                bad.append(line if line.endswith(b"\n") else line + b"\n")
        if bad:
            with open(self.rejected_path, "ab") as rejected:
                rejected.writelines(bad)
                rejected.flush()
                os.fsync(rejected.fileno())
            handle.seek(0)
            handle.truncate()
            handle.writelines(good)
            handle.flush()
            os.fsync(handle.fileno())
            log.warning(
                "spool %s: %d unreadable line(s) (an interrupted write) moved to %s; the other %d are kept",
                self.path,
                len(bad),
                self.rejected_path,
                len(items),
            )
        return items

    def clear(self) -> None:
        with open(self.path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)


class Spool(JsonLinesSpool[Article]):
    """Articles that could not be written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, Article.to_doc, Article.from_doc)


def _record_row(row: dict[str, Any]) -> dict[str, Any]:
    if (
        not isinstance(row.get("name"), str)
        or not isinstance(row.get("id"), str)
        or not isinstance(row.get("doc"), dict)
    ):
        raise ValueError("a spooled record needs name, id and doc")
    return row


class RecordSpool(JsonLinesSpool[dict[str, Any]]):
    """Records (crawl records) that could not be written: ``{"name", "id", "doc"}`` per line,
    written on the next connection. Ids make the replay idempotent."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, dict, _record_row)

    def append_records(self, name: str, ids: Sequence[str], docs: Sequence[dict[str, Any]]) -> int:
        rows = [{"name": name, "id": key, "doc": doc} for key, doc in zip(ids, docs, strict=True)]
        return self.append(rows)

    def take(self, write: Callable[[str, list[str], list[dict[str, Any]]], None]) -> int:
        """Hand every spooled record to ``write`` (per name), under the lock; cleared once all are written."""
        if not self.pending():
            return 0
        with self.locked() as rows:
            for name in dict.fromkeys(row["name"] for row in rows):
                mine = [row for row in rows if row["name"] == name]
                write(name, [row["id"] for row in mine], [row["doc"] for row in mine])
            self.clear()
        return len(rows)
