"""Writing output files: checked before any work starts, and written whole or not at all.

Every file Vigía writes for a user goes through :func:`atomic_output`: the data lands in a
temporary file beside the target and is renamed over it only when complete, so an interrupted
run never leaves a half file, and an output that names an input can never truncate it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vigia.errors import InputError


def check_output(path: Path, option: str = "--output", inputs: dict[str, Path] | None = None) -> Path:
    """Refuse, before any work is done, an output that is an input, a directory or unwritable."""
    target = path.expanduser().resolve()
    for name, given in (inputs or {}).items():
        if given.expanduser().resolve() == target:
            raise InputError(
                f"{option} {path} is the same file as {name} {given}: writing it would destroy the input; "
                f"give another {option} path"
            )
    if target.is_dir():
        raise InputError(f"{option} {path} is a directory: name a file in it, e.g. {path / 'out.jsonl'}")
    parent = next((p for p in target.parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"{option} {path} cannot be written ({parent} is not a writable directory): choose another path"
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(f"{option} {path} cannot be written (the file is read-only): choose another path")
    return target


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """A file to write ``path`` through: a temporary file in the same directory, renamed over
    ``path`` when the block ends normally and deleted when it raises."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path} cannot be written ({exc.strerror}): choose another path") from exc
    try:
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
