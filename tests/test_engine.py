"""The local engine life cycle, on dedicated servers (own home and port, stopped at the end)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ENGINES, SPARE_PORTS, make_settings

from vigia.engine import local_engine
from vigia.engine.launcher import HOME_MARKER, SERVICE_USER, LocalEngine, _proc_start
from vigia.errors import EngineError
from vigia.store import Store


def plant_state(engine: LocalEngine, pid: int, proc_start: int | None) -> None:
    """A state file as `start` writes it, but naming a process the launcher did not start."""
    engine.state_file.parent.mkdir(parents=True, exist_ok=True)
    state = {"kind": engine.kind, "pid": pid, "url": engine.url, "log_file": "x", "started_at": time.time()}
    engine.state_file.write_text(json.dumps({**state, "proc_start": proc_start}))


class CommandLines:
    """Collects the command line of every process while active: what any local user can see."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.done.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    self.seen.add(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass

    def __enter__(self) -> CommandLines:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def assert_private(path: Path, mode: int) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == mode, f"{path} is {oct(path.stat().st_mode)}, not {oct(mode)}"
    owner = pwd.getpwnam(SERVICE_USER).pw_uid if os.geteuid() == 0 and "/var/lib/vigia" in str(path) else os.geteuid()
    assert path.stat().st_uid == owner


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated live process (what a recycled pid points at after a reboot)."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("kind", ENGINES)
def test_start_is_idempotent_and_stop_stops_only_its_own_process(tmp_path: Path, kind: str) -> None:
    settings = make_settings(kind, home=tmp_path, **SPARE_PORTS)
    engine = local_engine(settings)
    stale = subprocess.Popen(["sleep", "600"])
    try:
        plant_state(engine, stale.pid, _proc_start(stale.pid))
        started = time.monotonic()
        first = engine.start()  # a stale pid is not waited for (180 s) but replaced
        assert time.monotonic() - started < settings.engine.start_timeout_s
        assert stale.poll() is None and first.pid != stale.pid
        assert first.running and first.health in ("green", "yellow") and first.log_file
        second = engine.start()
        assert second.pid == first.pid  # no second server

        other_home = local_engine(make_settings(kind, home=tmp_path / "other", **SPARE_PORTS))
        assert other_home.stop() is False  # another home's stop does not touch this server
        assert engine.status().running

        assert_private(engine.dir, 0o700)
        if kind == "elasticsearch":  # credentials lost: a new password is set on the next start
            assert engine.stop()
            settings.credentials_file.unlink()
            orphan = engine.dir.parent / "orphan-of-a-deleted-clone"
            (orphan / "data").mkdir(parents=True, exist_ok=True)
            (orphan / HOME_MARKER).write_text(str(tmp_path / "deleted-clone"))
            with CommandLines() as watched:
                engine.start()
            Store(settings).init_indices()  # the new password works
            password = settings.local_credentials()[1]  # type: ignore[index]
            assert [c for c in watched.seen if "elasticsearch" in c], "the watcher saw the engine start"
            assert not [c for c in watched.seen if password in c], "the password was on a command line"
            assert_private(settings.credentials_file, 0o600)
            assert_private(engine.dir / "config", 0o700)
            assert_private(engine.dir / "config" / "users", 0o600)
            if os.geteuid() == 0:  # instances under /var/lib/vigia whose home is gone are pruned
                assert not orphan.exists()
            shutil.rmtree(orphan, ignore_errors=True)
        assert engine.stop() is True
        assert engine.stop() is False
        assert not engine.status().running
    finally:
        engine.stop()
        stale.kill()
        stale.wait()
        shutil.rmtree(engine.dir, ignore_errors=True)


@pytest.mark.parametrize("kind", ENGINES)
def test_a_stale_pid_is_neither_signalled_nor_trusted(
    tmp_path: Path, kind: str, bystander: subprocess.Popen[bytes]
) -> None:
    engine = local_engine(make_settings(kind, home=tmp_path, **SPARE_PORTS))
    plant_state(engine, bystander.pid, _proc_start(bystander.pid))
    assert not engine.status().running
    assert not engine.state_file.exists(), "the stale state file is removed"
    plant_state(engine, bystander.pid, _proc_start(bystander.pid))
    assert engine.stop() is False
    assert bystander.poll() is None, "stop killed an unrelated process"


@pytest.mark.parametrize("kind", ENGINES)
def test_a_reused_pid_with_the_engines_command_line_is_caught_by_its_start_time(tmp_path: Path, kind: str) -> None:
    engine = local_engine(make_settings(kind, home=tmp_path, **SPARE_PORTS))
    # A process whose command line carries this home's marker, as a restarted engine's would.
    lookalike = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", engine._cmdline_marker()])
    try:
        cmdline = Path(f"/proc/{lookalike.pid}/cmdline")
        deadline = time.monotonic() + 10
        while engine._cmdline_marker().encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd: before, /proc shows the parent's command line
        start = _proc_start(lookalike.pid)
        assert start is not None
        plant_state(engine, lookalike.pid, start)
        assert engine.status().running  # the right process: trusted
        plant_state(engine, lookalike.pid, start - 1)  # same pid, another start time: a reused pid
        assert engine.stop() is False
        assert lookalike.poll() is None
    finally:
        lookalike.kill()
        lookalike.wait()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings("elasticsearch", home=tmp_path, **SPARE_PORTS)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may be in TIME_WAIT
        squatter.bind(("127.0.0.1", settings.engine.elasticsearch_port))
        squatter.listen()
        with pytest.raises(EngineError, match="taken by another process.*VIGIA_ENGINE__ELASTICSEARCH_PORT"):
            local_engine(settings).start()
