"""The engine becomes unreachable during a crawl: the run finishes at its normal pace, spools its
articles and crawl records, exits 3 with one line, and nothing is lost or duplicated once the
engine is back. The outage is real at the network level: the crawl talks to the engine through a
TCP relay that the test cuts (connections reset, then refused), as when the engine is killed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import make_settings

from crawler.run import EXIT_SPOOLED, _settings_file
from crawler.testweb.server import TestWeb, TestWebServer
from vigia.config import Settings
from vigia.store import Store

SOURCES = ("diarioelsalvador", "gatoencerrado", "revistafactum")
VIGIA = Path(sys.executable).with_name("vigia")


class Relay:
    """Forwards 127.0.0.1:<port> to the engine until ``cut``: then every connection is closed
    and new ones are refused."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone leaves it listening)
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def test_engine_lost_mid_crawl_spools_everything_and_replays_exactly(settings: Settings, tmp_path: Path) -> None:
    web = TestWeb(delay_s=0.2)  # slow pages, so the cut lands mid-crawl
    expected = {a.url for s in SOURCES for a in web.fixtures.outlets[s].articles}
    auth = settings.engine_auth()  # the session engine's; the test home has none of its own
    credentials = {"username": auth[0], "password": auth[1]} if auth else {}
    direct = make_settings(settings.engine.kind, prefix=settings.index.prefix, home=tmp_path / "home", **credentials)
    relay = Relay(int(direct.engine_url.rsplit(":", 1)[1]))
    engine = direct.engine.model_copy(update={"url": f"http://127.0.0.1:{relay.port}"})
    with TestWebServer(web) as server:
        crawl = direct.crawl.model_copy(update={"testweb_url": server.url, "polite": False, "revisit_hours": 0})
        through_relay = direct.model_copy(update={"engine": engine, "crawl": crawl})
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")}
        env["VIGIA_CONFIG"] = str(_settings_file(through_relay, tmp_path))
        args = [str(VIGIA), "crawl", *(a for s in SOURCES for a in ("--source", s))]
        started = time.monotonic()
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while not web.requests and time.monotonic() < deadline:  # indices set up, discovery begins
                time.sleep(0.01)
            relay.cut()  # every "already indexed?" look-up and every write of the run fails from here
            output, _ = child.communicate(timeout=180)
        finally:
            child.kill()
        elapsed = time.monotonic() - started
        try:
            assert child.returncode == EXIT_SPOOLED, output[-3000:]
            assert "Traceback" not in output
            last = output.strip().splitlines()[-1]
            assert last.startswith("finished, but the engine was unreachable:") and "crawl records are spooled" in last
            assert elapsed < 90, f"the crawl took {elapsed:.0f}s after losing the engine"
            assert sorted(web.fetched(200)) == sorted(set(web.fetched(200))), "no page fetched twice"
            assert expected <= set(web.fetched(200)), "every article was still fetched"

            # The engine is back: the next store replays both spools, exactly once.
            store = Store.from_settings(direct)
            assert not store.spool.pending() and not store.record_spool.pending()
            store.refresh("articles")
            store.refresh("crawls")
            assert store.indexed_urls(expected) == expected
            assert store.count() == len(expected), "no duplicates"
            hits = store.search_raw("crawls", {"size": 100})["hits"]["hits"]
            assert {h["_source"]["source"] for h in hits} == set(SOURCES)
            assert len(hits) == len(SOURCES)
            Store.from_settings(direct).replay_spool()  # a second replay adds nothing
            store.refresh("crawls")
            assert store.count() == len(expected) and store.count("crawls") == len(SOURCES)
        finally:
            Store(direct).drop_indices()
