"""Benchmarks take the CLI's settings: VIGIA_HOME, ports and the config file, never their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bulk_indexing_benchmark_honours_vigia_home_and_ports(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("engine: {opensearch_port: 9287}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")}
    env.update(VIGIA_HOME=str(tmp_path / "home"), VIGIA_CONFIG=str(config), VIGIA_ENGINE__ELASTICSEARCH_PORT="10987")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bulk_indexing.py"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"elasticsearch: home {tmp_path / 'home'}, engine http://127.0.0.1:10987" in lines
    assert f"opensearch: home {tmp_path / 'home'}, engine http://127.0.0.1:9287" in lines
