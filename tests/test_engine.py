"""The local engine life cycle, on dedicated servers (own home and port, stopped at the end)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from conftest import ENGINES, SPARE_PORTS, make_settings

from vigia.engine import local_engine
from vigia.errors import EngineError
from vigia.store import Store


@pytest.mark.parametrize("kind", ENGINES)
def test_start_is_idempotent_and_stop_stops_only_its_own_process(tmp_path: Path, kind: str) -> None:
    settings = make_settings(kind, home=tmp_path, **SPARE_PORTS)
    engine = local_engine(settings)
    try:
        first = engine.start()
        assert first.running and first.health in ("green", "yellow") and first.log_file
        second = engine.start()
        assert second.pid == first.pid  # no second server

        other_home = local_engine(make_settings(kind, home=tmp_path / "other", **SPARE_PORTS))
        assert other_home.stop() is False  # another home's stop does not touch this server
        assert engine.status().running

        if kind == "elasticsearch":  # credentials lost: a new password is set on the next start
            assert engine.stop()
            settings.credentials_file.unlink()
            engine.start()
            Store(settings).init_indices()
        assert engine.stop() is True
        assert engine.stop() is False
        assert not engine.status().running
    finally:
        engine.stop()
        shutil.rmtree(engine.dir, ignore_errors=True)


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings("elasticsearch", home=tmp_path, **SPARE_PORTS)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may be in TIME_WAIT
        squatter.bind(("127.0.0.1", settings.engine.elasticsearch_port))
        squatter.listen()
        with pytest.raises(EngineError, match="taken by another process.*VIGIA_ENGINE__ELASTICSEARCH_PORT"):
            local_engine(settings).start()
