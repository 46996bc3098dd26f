"""The broker installs alone: `pip install ./broker` into a fresh virtualenv gives a broker
that runs and serves STOMP, with nothing of the game (no Django, no PostgreSQL driver)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from real_broker import REPO, free_port

INSTALL_SECONDS = 300


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the broker installed from a copy of broker/; its bin/."""
    root = tmp_path_factory.mktemp("alone")
    source = root / "stomp-broker"
    shutil.copytree(
        REPO / "broker",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    subprocess.run([sys.executable, "-m", "venv", root / "venv"], check=True)
    subprocess.run(
        [root / "venv" / "bin" / "pip", "install", "--quiet", str(source)],
        check=True,
        capture_output=True,
        timeout=INSTALL_SECONDS,
    )
    return root / "venv" / "bin"


def run(bin_: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # from a directory without the checkout's broker/ in it, as on a machine without the game
    return subprocess.run(
        [str(bin_ / args[0]), *args[1:]], cwd=bin_, capture_output=True, text=True, timeout=60
    )


def test_it_brings_nothing_of_the_game(alone: Path) -> None:
    for module in ("django", "psycopg", "quiz"):
        result = run(alone, "python", "-c", f"import {module}")
        assert "ModuleNotFoundError" in result.stderr, module
    located = run(alone, "python", "-c", "import broker; print(broker.__file__)")
    assert str(alone.parent) in located.stdout  # the installed copy, not the checkout


def test_the_script_and_the_module_answer_help(alone: Path) -> None:
    for command in (["stomp-broker", "--help"], ["python", "-m", "broker", "--help"]):
        result = run(alone, *command)
        assert result.returncode == 0 and "STOMP 1.0/1.1/1.2" in result.stdout


def test_the_example_config_and_deploy_files_come_along(alone: Path) -> None:
    code = (
        "import broker, pathlib; home = pathlib.Path(broker.__file__).parent; "
        "print(sorted(p.name for p in [home / 'example.toml', *(home / 'deploy').iterdir()]))"
    )
    assert run(alone, "python", "-c", code).stdout.strip() == (
        "['Containerfile', 'example.toml', 'stomp-broker.service']"
    )


def test_it_serves_stomp_and_stops_cleanly_on_sigterm(alone: Path) -> None:
    tcp, ws = free_port(), free_port()
    broker = subprocess.Popen(
        [alone / "stomp-broker", "--user", "guest:guest"]
        + ["--tcp", f"127.0.0.1:{tcp}", "--ws", f"127.0.0.1:{ws}"],
        cwd=alone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", tcp), timeout=5)
                break
            except OSError:
                assert broker.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with client:
            client.sendall(b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
            reply = client.recv(4096)
        assert reply.startswith(b"CONNECTED\n") and b"version:1.2" in reply
    finally:
        broker.send_signal(signal.SIGTERM)
        assert broker.wait(timeout=30) == 0
