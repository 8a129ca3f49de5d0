"""Story clusters: near-duplicate articles share one `story_cluster`, so search can collapse
them and trend counts count stories, not copies.

The same wire story at several outlets (other headline, other boilerplate, a paragraph cut)
and the AMP or print copy of one article have near-identical texts; two reports on the same
topic do not. Texts are compared as sets of word 5-grams, estimated with MinHash and indexed
with LSH (datasketch), so each new article is matched against every recent one in constant
time. The index persists in one file so that clusters hold across crawl runs:

    clusterer = StoryClusterer.open()          # ~/.local/share/vigia/dedupe/story_clusters.npz
    clusterer.assign(batch)                    # sets article.story_cluster on each
    clusterer.save()                           # at the end of a crawl run
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from vigia.config import Settings, get_settings
from vigia.errors import ConfigError
from vigia.models import Article
from vigia.outputs import atomic_output

_WORD = re.compile(r"\w+")
_FORMAT_VERSION = 1
_SEED = 1
_SCHEME = "affine32"  # datasketch's default: 32-bit hash values


@dataclass
class _Entry:
    cluster: str
    size: int  # number of distinct shingles: turns a Jaccard estimate into containment
    seen: float  # POSIX time of publication (or of clustering): old entries are pruned
    signature: LeanMinHash


class StoryClusterer:
    """Assigns `story_cluster` ids: the id of the first article seen of each story.

    An article joins the cluster of its most similar earlier article when their estimated
    Jaccard similarity reaches `threshold`, or when the shorter text is nearly contained in
    the longer (`containment`: an outlet that ran only part of a wire story). Otherwise it
    starts its own cluster. Texts shorter than `min_words` are only matched exactly.
    Not thread-safe; one process should own a state file at a time (saves are atomic).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        threshold: float = 0.5,
        containment: float = 0.8,
        num_perm: int = 128,
        shingle_words: int = 5,
        min_words: int = 40,
        retention_days: float = 90.0,
    ) -> None:
        self.path = path
        self.threshold = threshold
        self.containment = containment
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self.min_words = min_words
        self.retention = timedelta(days=retention_days)
        # Candidates come from LSH at a lower threshold, so that contained texts (a low
        # Jaccard similarity) are found too; the exact rule is applied to each candidate.
        self._lsh = MinHashLSH(threshold=min(threshold, containment) * 0.6, num_perm=num_perm)
        self._entries: dict[str, _Entry] = {}

    # -- persistence -------------------------------------------------------------------

    @classmethod
    def default_path(cls, settings: Settings | None = None) -> Path:
        return (settings or get_settings()).home / "dedupe" / "story_clusters.npz"

    @classmethod
    def open(cls, path: Path | None = None, **options: Any) -> StoryClusterer:
        """The clusterer saved at `path` (default under `Settings().home`), or a new one;
        `options` are the constructor's and must match those the state was saved with."""
        clusterer = cls(path or cls.default_path(), **options)
        if clusterer.path is not None and clusterer.path.exists():
            clusterer._load(clusterer.path)
        return clusterer

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                params = [str(v) for v in data["params"]]
                rows = list(
                    zip(
                        data["keys"],
                        data["clusters"],
                        data["sizes"],
                        data["seen"],
                        data["signatures"],
                        strict=True,
                    )
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"story cluster state {path} is unreadable ({exc}): delete it to start afresh") from exc
        if params != self._params():
            raise ConfigError(
                f"story cluster state {path} was written with other settings ({params}, now {self._params()}): "
                "delete it to start the story clusters afresh"
            )
        for key, cluster, size, seen, hashvalues in rows:
            signature = LeanMinHash(seed=_SEED, hashvalues=hashvalues, scheme=_SCHEME)
            self._add(str(key), _Entry(str(cluster), int(size), float(seen), signature))

    def _params(self) -> list[str]:
        return [
            str(_FORMAT_VERSION),
            _SCHEME,
            str(self.num_perm),
            str(self.shingle_words),
        ]

    def save(self, path: Path | None = None) -> Path:
        """Writes the state (entries older than the retention period are dropped) atomically."""
        target = path or self.path or self.default_path()
        self.prune()
        target.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._entries)
        entries = [self._entries[k] for k in keys]
        signatures = np.array([e.signature.hashvalues for e in entries], dtype=np.uint32)
        with open(target.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with atomic_output(target, "wb") as handle:
                np.savez_compressed(
                    handle,
                    params=np.array(self._params(), dtype=str),
                    keys=np.array(keys, dtype=str),
                    clusters=np.array([e.cluster for e in entries], dtype=str),
                    sizes=np.array([e.size for e in entries], dtype=np.int64),
                    seen=np.array([e.seen for e in entries], dtype=np.float64),
                    signatures=signatures.reshape(len(entries), self.num_perm),
                )
        return target

    def prune(self, now: datetime | None = None) -> int:
        """Forgets articles older than the retention period; returns how many."""
        cutoff = ((now or datetime.now(UTC)) - self.retention).timestamp()
        old = [key for key, entry in self._entries.items() if entry.seen < cutoff]
        for key in old:
            self._lsh.remove(key)
            del self._entries[key]
        return len(old)

    def __len__(self) -> int:
        return len(self._entries)

    # -- clustering --------------------------------------------------------------------

    def assign(self, articles: Iterable[Article]) -> list[str]:
        """Sets `story_cluster` on each article, in order (later ones can join clusters of
        earlier ones in the same batch), and returns the cluster ids. A re-crawled article
        (same `Article.id`) keeps its cluster."""
        return [self._assign_one(article) for article in articles]

    def _assign_one(self, article: Article) -> str:
        key = article.id
        shingles = self._shingles(article)
        signature = self._signature(shingles)
        seen = (article.published_at or datetime.now(UTC)).timestamp()
        previous = self._entries.get(key)
        if previous is not None:
            self._lsh.remove(key)
            cluster = previous.cluster
        else:
            cluster = self._best_match(signature, len(shingles), exact_only=self._too_short(article)) or key
        self._add(key, _Entry(cluster, len(shingles), seen, signature))
        article.story_cluster = cluster
        return cluster

    def _best_match(self, signature: LeanMinHash, size: int, *, exact_only: bool) -> str | None:
        best: tuple[float, str] | None = None
        for key in self._lsh.query(signature):
            entry = self._entries[key]
            jaccard = signature.jaccard(entry.signature)
            # |A ∩ B| ≈ J (|A| + |B|) / (1 + J); containment of the smaller set in the larger.
            contained = jaccard * (size + entry.size) / ((1 + jaccard) * max(1, min(size, entry.size)))
            if exact_only:
                matched = jaccard == 1.0
            else:
                matched = jaccard >= self.threshold or contained >= self.containment
            score = max(jaccard, contained)
            if matched and (best is None or score > best[0]):
                best = (score, entry.cluster)
        return best[1] if best else None

    def _add(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._lsh.insert(key, entry.signature, check_duplication=False)

    def _too_short(self, article: Article) -> bool:
        return len(article.text.split()) < self.min_words

    def _shingles(self, article: Article) -> set[bytes]:
        """Word n-grams of the text (title included only for texts too short to stand alone)."""
        source = article.text if not self._too_short(article) else f"{article.title}\n{article.text}"
        words = _WORD.findall(source.casefold())
        n = self.shingle_words
        if len(words) < n:
            return {" ".join(words).encode()} if words else {b""}
        return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}

    def _signature(self, shingles: set[bytes]) -> LeanMinHash:
        minhash = MinHash(num_perm=self.num_perm, seed=_SEED, scheme=_SCHEME)
        minhash.update_batch(list(shingles))
        return LeanMinHash(minhash)
