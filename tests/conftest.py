"""A REAL broker process for the game's integration and e2e tests, with Django pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from real_broker import start_broker

PUBLISHER_LOGIN = "quiz"
PUBLISHER_PASSCODE = "publisher-test-passcode"
TOKEN_SECRET = "game-test-token-secret-that-is-long-enough"


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

    toml = "\n".join([
        "[[users]]", f'login = "{PUBLISHER_LOGIN}"',
        f'passcode_hash = "{hash_passcode(PUBLISHER_PASSCODE)}"',
        'read = ["/topic/games.*"]', 'write = ["/topic/games.*"]', "",
        "[tokens]", f'secret = "{TOKEN_SECRET}"', 'resource_server_id = "broker"', ""])
    with start_broker(tmp_path_factory.mktemp("game-broker"), toml=toml, args=()) as broker:
        yield GameBroker("127.0.0.1", broker.tcp_port, broker.ws_url, PUBLISHER_LOGIN,
                         PUBLISHER_PASSCODE, TOKEN_SECRET)


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
