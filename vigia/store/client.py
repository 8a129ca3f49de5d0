"""A thin, engine-agnostic REST client over the official Elasticsearch 8 and OpenSearch clients.

Everything Vigía needs (bulk, mget, search, templates, aliases, point-in-time) is the same REST
API on both engines, except the point-in-time endpoints; this module hides that difference so
the store (``vigia.store.store``) is written once.
"""

from __future__ import annotations

import logging
from typing import Any

import elastic_transport
import elasticsearch
import opensearchpy

from vigia.config import EngineKind, Settings
from vigia.errors import EngineAuthError, EngineResponseError, EngineUnavailable

# The clients log every non-2xx answer (a 404 for a missing alias is routine); our errors say more.
for _name in ("opensearch", "elastic_transport", "httpx"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class EngineClient:
    def __init__(self, settings: Settings) -> None:
        self.kind: EngineKind = settings.engine.kind
        self.url = settings.engine_url
        auth = settings.engine_auth()
        timeout = settings.engine.request_timeout_s
        # Retries are done by the store (with backoff); the clients fail fast.
        if self.kind == "elasticsearch":
            self.raw: Any = elasticsearch.Elasticsearch(
                self.url, basic_auth=auth, request_timeout=timeout, max_retries=0, retry_on_timeout=False
            )
        else:
            self.raw = opensearchpy.OpenSearch(
                hosts=[self.url], http_auth=auth, timeout=timeout, max_retries=0, retry_on_timeout=False
            )

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One REST call; errors become EngineUnavailable / EngineAuthError / EngineResponseError."""
        try:
            if self.kind == "elasticsearch":
                headers = {"accept": "application/json"}
                if body is not None:
                    headers["content-type"] = (
                        "application/x-ndjson" if isinstance(body, (bytes, str)) else "application/json"
                    )
                return self.raw.perform_request(method, path, params=params, headers=headers, body=body).body
            return self.raw.transport.perform_request(method, path, params=params, body=body)
        except (
            elastic_transport.ConnectionError,
            opensearchpy.ConnectionError,
            elastic_transport.ConnectionTimeout,
        ) as exc:
            raise EngineUnavailable(f"cannot reach {self.kind} at {self.url}: {exc}") from exc
        except (elasticsearch.ApiError, opensearchpy.TransportError) as exc:
            status = exc.status_code
            body = exc.body if isinstance(exc, elasticsearch.ApiError) else exc.info
            if status in (401, 403):
                raise EngineAuthError(f"{self.kind} at {self.url} refused the credentials (HTTP {status})") from exc
            raise EngineResponseError(int(status or 0), body) from exc

    def bulk(self, payload: bytes) -> dict[str, Any]:
        return self.request("POST", "/_bulk", body=payload)

    # -- point in time: the one API that differs ---------------------------------------------
    def open_pit(self, index: str, keep_alive: str) -> str:
        if self.kind == "elasticsearch":
            return self.request("POST", f"/{index}/_pit", params={"keep_alive": keep_alive})["id"]
        return self.request("POST", f"/{index}/_search/point_in_time", params={"keep_alive": keep_alive})["pit_id"]

    def close_pit(self, pit_id: str) -> None:
        try:
            if self.kind == "elasticsearch":
                self.request("DELETE", "/_pit", body={"id": pit_id})
            else:
                self.request("DELETE", "/_search/point_in_time", body={"pit_id": [pit_id]})
        except (EngineUnavailable, EngineResponseError):
            pass  # a PIT expires on its own after keep_alive

    def close(self) -> None:
        self.raw.close()
