"""One error root for everything a user can act on.

Every failure that Vigía expects (bad configuration, bad input, an engine that is down) is a
:class:`VigiaError` whose message names the cause and the fix; the CLI turns it into one line and
exit code 2 at a single boundary (``vigia.cli.app``). Anything else is a bug and keeps its
traceback.

    VigiaError
    ├── ConfigError         settings, config file, the outlet registry, the taxonomy
    ├── InputError          files, URLs and option values given on the command line
    ├── EngineError         the local Elasticsearch / OpenSearch launcher
    ├── StoreError          reading or writing the index
    │   ├── EngineUnavailable   the engine cannot be reached
    │   ├── EngineAuthError     the engine refused the credentials
    │   └── EngineResponseError the engine answered with an error status
    │       ├── IndexMissing    the index does not exist yet (run `vigia index init`)
    │       └── QueryTooLarge   the query exceeds an engine limit (clauses)
    ├── ClassifierError     building, loading or running the classifier
    └── NoArticle           a page holds no article (an outcome per page, not a user mistake)
"""

from __future__ import annotations

import json
from typing import Any


class VigiaError(Exception):
    """A failure the user can act on; the message says what went wrong and what to do."""


class ConfigError(VigiaError):
    """Invalid settings, config file or shipped data (registry, taxonomy)."""


class InputError(VigiaError):
    """A bad file, URL or option value given by the user."""


class EngineError(VigiaError):
    """The local engine could not be started, stopped or inspected."""


class StoreError(VigiaError):
    """A storage failure the user can act on."""


class EngineUnavailable(StoreError):
    """The engine cannot be reached (down, wrong URL, timeout)."""


class EngineAuthError(StoreError):
    """The engine refused our credentials."""


class EngineResponseError(StoreError):
    """The engine answered with an error status; ``body`` is its JSON reason, ``message`` (set
    by the store for the answers it understands) what it means for the user."""

    def __init__(self, status: int, body: Any, message: str | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.message = message

    def __str__(self) -> str:
        return self.message or f"HTTP {self.status}: {json.dumps(self.body)[:500]}"


class IndexMissing(EngineResponseError):
    """The index does not exist yet (HTTP 404): `vigia index init` creates it."""


class QueryTooLarge(EngineResponseError):
    """The query exceeds an engine limit such as the number of clauses (HTTP 400)."""


class ClassifierError(VigiaError):
    """The classifier cannot be built, loaded or run as asked."""


class NoArticle(VigiaError):
    """The page holds no article (``reason`` says why: empty, binary, a listing, too short)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
