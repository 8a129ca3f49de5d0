"""The spool: articles that could not be written wait here until the engine takes them."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from vigia.models import Article

log = logging.getLogger(__name__)


class Spool:
    """An append-only JSON-lines file of articles that could not be written, guarded by a lock.

    A crash in the middle of an append can leave a truncated last line; such a line costs only
    itself: reading moves it to ``<spool>.rejected`` (kept for inspection) and says so once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def rejected_path(self) -> Path:
        return self.path.with_name(self.path.name + ".rejected")

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
            self.handle = open(self.spool.path, "ab+")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            return self.spool._read(self.handle)

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def locked(self) -> Spool._Locked:
        return Spool._Locked(self)

    def _read(self, handle: BinaryIO) -> list[Article]:
        """The spooled articles; unreadable lines are moved to the rejected file (lock held)."""
        handle.seek(0)
        articles: list[Article] = []
        good: list[bytes] = []
        bad: list[bytes] = []
        for line in handle:
            if not line.strip():
                continue
            try:
                articles.append(Article.from_doc(json.loads(line.decode("utf-8"))))
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
                "spool %s: %d unreadable line(s) (an interrupted write) moved to %s; the other %d articles are kept",
                self.path,
                len(bad),
                self.rejected_path,
                len(articles),
            )
        return articles

    def clear(self) -> None:
        with open(self.path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)
