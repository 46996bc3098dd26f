"""A REAL broker process for the game's integration and e2e tests, with Django pointed at it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
PUBLISHER_LOGIN = "quiz"
PUBLISHER_PASSCODE = "publisher-test-passcode"
TOKEN_SECRET = "game-test-token-secret-that-is-long-enough"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"broker did not listen on {port}")


@dataclass
class GameBroker:
    """Where the broker listens and how to talk to it."""

    tcp_host: str
    tcp_port: int
    ws_url: str
    login: str
    passcode: str
    token_secret: str


@pytest.fixture(scope="session")
def game_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameBroker]:
    """Start `python -m broker` with a publisher user and a token secret."""
    from broker.auth import hash_passcode

    tcp, ws = _free_port(), _free_port()
    config = tmp_path_factory.mktemp("game-broker") / "broker.toml"
    config.write_text("\n".join([
        "[[users]]", f'login = "{PUBLISHER_LOGIN}"',
        f'passcode_hash = "{hash_passcode(PUBLISHER_PASSCODE)}"',
        'read = ["/topic/games.*"]', 'write = ["/topic/games.*"]', "",
        "[tokens]", f'secret = "{TOKEN_SECRET}"', 'resource_server_id = "broker"', ""]))
    process = subprocess.Popen(
        [sys.executable, "-m", "broker", "--config", str(config),
         "--tcp", f"127.0.0.1:{tcp}", "--ws", f"127.0.0.1:{ws}"], cwd=REPO)
    try:
        _wait_for(tcp, process)
        _wait_for(ws, process)
        yield GameBroker("127.0.0.1", tcp, f"ws://127.0.0.1:{ws}/ws", PUBLISHER_LOGIN,
                         PUBLISHER_PASSCODE, TOKEN_SECRET)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def game_broker_settings(game_broker: GameBroker, settings) -> GameBroker:
    """Point Django's publisher and token settings at the test broker."""
    settings.STOMP_HOST = game_broker.tcp_host
    settings.STOMP_PORT = game_broker.tcp_port
    settings.STOMP_LOGIN = game_broker.login
    settings.STOMP_PASSCODE = game_broker.passcode
    settings.STOMP_WS_URL = game_broker.ws_url
    settings.STOMP_TOKEN_SECRET = game_broker.token_secret
    return game_broker
