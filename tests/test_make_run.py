"""What `make run` does, as a new user sees it: migrate, seed the demo, start the site and
the broker; the pages, the browser library and the broker answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from real_broker import REPO, free_port

WAIT_SECONDS = 30.0


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def fetch(url: str) -> tuple[int, bytes]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_run_serves_the_site_and_the_broker(tmp_path: Path) -> None:
    site, tcp, ws = free_port(), free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "STOMP_PORT": str(tcp), "STOMP_WS_PORT": str(ws), "PYTHONUNBUFFERED": "1"}
    manage("migrate", "--noinput", env=env)
    assert "demo / demo-quiz-123" in manage("seed_demo", env=env).stdout
    log = (tmp_path / "rungame.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rungame", "--addr", f"127.0.0.1:{site}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status, page = fetch(f"http://127.0.0.1:{site}/")
        assert status == 200 and b"PIN" in page
        status, library = fetch(f"http://127.0.0.1:{site}/static/vendor/stompjs/index.js")
        assert status == 200 and b"client.js" in library
        status, health = fetch(f"http://127.0.0.1:{ws}/healthz")
        assert json.loads(health) == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT_SECONDS)
    log.seek(0)
    output = log.read()
    assert f"Quiz Live: http://127.0.0.1:{site}/" in output
    assert "Author login: demo / demo-quiz-123" in output


def test_external_broker_makes_run_start_only_the_site(tmp_path: Path) -> None:
    site, tcp, ws = free_port(), free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "QUIZ_BROKER": "external", "STOMP_PORT": str(tcp), "STOMP_WS_PORT": str(ws),
           "PYTHONUNBUFFERED": "1"}
    manage("migrate", "--noinput", env=env)
    log = (tmp_path / "rungame.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rungame", "--addr", f"127.0.0.1:{site}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status, _ = fetch(f"http://127.0.0.1:{site}/")
        assert status == 200
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", tcp), timeout=1).close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT_SECONDS)
    log.seek(0)
    assert f"Broker: external, STOMP at 127.0.0.1:{tcp}" in log.read()
