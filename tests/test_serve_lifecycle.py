"""``mcrag serve`` says it is serving only when the port answers, and SIGTERM stops it within 5 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow  # a real server process

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _init(store: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mcrag.cli", "kg", "init", "--store", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def test_banner_only_once_the_port_answers_and_sigterm_stops_within_5_s(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert _init(store).wait(timeout=300) == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mcrag.cli", "serve", "--store", str(store), "--port", str(port),
                             "--query-timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving" in line, line
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # the port took the connection at the moment the banner appeared
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200

        # a query that would run for a minute is in flight when the signal arrives
        threading.Thread(target=lambda: httpx.get(f"http://127.0.0.1:{port}/sparql", params={"query": RUNAWAY},
                                                  timeout=120), daemon=True).start()
        deadline = time.monotonic() + 30
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:
            workers = psutil.Process(proc.pid).children(recursive=True)
            if workers and any(w.cpu_percent(interval=0.2) > 20 for w in workers):
                break
        assert workers, "the service runs queries in worker processes"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        took = time.monotonic() - start
        assert took < 5.0, f"stopped {took:.1f} s after SIGTERM"
        time.sleep(0.5)
        assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE], \
            "no query worker outlives the server"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
