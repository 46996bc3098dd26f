"""The game tests' fixtures, which each game test folder's conftest takes: REAL brokers for
the integration and e2e tests (ours, started here, and the RabbitMQ that `make services` runs),
with Django pointed at them; the game settings every game test runs with; the quiz they play.
The broker's own tests (tests/broker) take none of it: they run without Django."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from real_broker import BrokerProcess, start_broker

from broker.client import ServerFrames, connect_frame
from broker.frames import FrameError
from quiz.game import arrivals
from quiz.game.models import Choice, Question, Quiz
from quiz.live.broker_config import broker_config

# The fixtures, for a conftest's `from game_fixtures import *`.
__all__ = [
    "author",
    "game_broker",
    "game_broker_settings",
    "game_test_settings",
    "no_games_noted_by_earlier_tests",
    "quiz",
    "rabbitmq",
    "rabbitmq_settings",
]

PUBLISHER_LOGIN = "quiz"
PUBLISHER_PASSCODE = "publisher-test-passcode"
TOKEN_SECRET = "game-test-token-secret-that-is-long-enough"
ADMIN_LOGIN = "quiz-admin"
ADMIN_PASSCODE = "admin-test-passcode"


@dataclass
class GameBroker:
    """Where the broker listens and how to talk to it."""

    tcp_host: str
    tcp_port: int
    ws_url: str
    login: str
    passcode: str
    token_secret: str
    # The management API a kick closes connections through (quiz.live.revocation).
    admin_url: str
    admin_login: str
    admin_passcode: str
    # Whether it has presence (ours) or not (RabbitMQ): STOMP_PRESENCE.
    presence: bool = True
    # Whether pages may follow it over HTTP (ours) or not (RabbitMQ): STOMP_HTTP_FALLBACK.
    http_fallback: bool = True
    # Whether it binds the answers queue and stamps each answer's arrival (ours) or the
    # consumers declare the queue and take their own time (RabbitMQ 3.10).
    answer_binding: bool = True
    # Whether it replays its topics' history on x-stream-offset (ours) or refuses the header
    # on a topic (RabbitMQ): STOMP_HISTORY.
    history: bool = True


@pytest.fixture(scope="session")
def game_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameBroker]:
    """Start `python -m broker` with the config `make run` gives it, but for its own publisher,
    admin and token secret."""
    toml = broker_config(
        publisher=(PUBLISHER_LOGIN, PUBLISHER_PASSCODE),
        admin=(ADMIN_LOGIN, ADMIN_PASSCODE),
        token_secret=TOKEN_SECRET,
    )
    with start_broker(tmp_path_factory.mktemp("game-broker"), toml=toml, args=()) as broker:
        yield game_broker_at(broker)


def game_broker_at(broker: BrokerProcess) -> GameBroker:
    """The game's view of a broker started with the game's config (quiz.live.broker_config)
    and the tests' publisher, admin and token secret."""
    return GameBroker(
        "127.0.0.1",
        broker.tcp_port,
        broker.ws_url,
        PUBLISHER_LOGIN,
        PUBLISHER_PASSCODE,
        TOKEN_SECRET,
        broker.http_url,
        ADMIN_LOGIN,
        ADMIN_PASSCODE,
    )


def point_django_at(broker: GameBroker, settings) -> GameBroker:
    """Point Django's publisher, token and admin settings at `broker`."""
    settings.STOMP_HOST = broker.tcp_host
    settings.STOMP_PORT = broker.tcp_port
    settings.STOMP_LOGIN = broker.login
    settings.STOMP_PASSCODE = broker.passcode
    settings.STOMP_WS_URL = broker.ws_url
    settings.STOMP_TOKEN_SECRET = broker.token_secret
    settings.STOMP_ADMIN_URL = broker.admin_url
    settings.STOMP_ADMIN_LOGIN = broker.admin_login
    settings.STOMP_ADMIN_PASSCODE = broker.admin_passcode
    settings.STOMP_PRESENCE = broker.presence
    settings.STOMP_HTTP_FALLBACK = broker.http_fallback
    settings.STOMP_HISTORY = broker.history
    settings.STOMP_ANSWER_BINDING = broker.answer_binding
    settings.STOMP_ARRIVAL_STAMP = broker.answer_binding
    return broker


@pytest.fixture
def game_broker_settings(request: pytest.FixtureRequest, settings) -> GameBroker:
    """Point Django's publisher and token settings at the game tests' broker: ours, or the
    RabbitMQ of `make services` when QUIZ_TEST_BROKER=rabbitmq (`make test-scale`)."""
    broker = "rabbitmq" if os.environ.get("QUIZ_TEST_BROKER") == "rabbitmq" else "game_broker"
    return point_django_at(request.getfixturevalue(broker), settings)


RABBITMQ_STOMP = ("127.0.0.1", 61613)
RABBITMQ_WS_URL = "ws://127.0.0.1:15674/ws"
RABBITMQ_MANAGEMENT_URL = "http://127.0.0.1:15672"


def rabbitmq_refusal(login: str, passcode: str) -> str | None:
    """Why the publisher cannot log in to RabbitMQ's STOMP listener, or None if it can."""
    try:
        with socket.create_connection(RABBITMQ_STOMP, timeout=5) as sock:
            sock.sendall(connect_frame(login, passcode))
            replies = ServerFrames().feed(sock.recv(4096))
    except (OSError, FrameError) as error:
        return f"no STOMP broker answers on {RABBITMQ_STOMP[0]}:{RABBITMQ_STOMP[1]} ({error})"
    if not replies or replies[0].command != "CONNECTED":
        why = replies[0].body.decode(errors="replace").strip() if replies else "no answer"
        return f"{login!r} cannot log in ({why})"
    if not replies[0].headers.get("server", "").startswith("RabbitMQ"):
        return f"{RABBITMQ_STOMP[0]}:{RABBITMQ_STOMP[1]} is another broker, not RabbitMQ"
    return None


@pytest.fixture(scope="session")
def rabbitmq() -> GameBroker:
    """The RabbitMQ of `make services`, set up with Django's publisher login and token secret.

    Absent, the tests that need it skip, or fail when QUIZ_REQUIRE_SERVICES=1 (CI)."""
    from django.conf import settings

    refusal = rabbitmq_refusal(settings.STOMP_LOGIN, settings.STOMP_PASSCODE)
    if refusal:
        message = f"RabbitMQ is not ready: {refusal}. Run `make services` (as root)."
        if os.environ.get("QUIZ_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    host, port = RABBITMQ_STOMP
    return GameBroker(
        host,
        port,
        RABBITMQ_WS_URL,
        settings.STOMP_LOGIN,
        settings.STOMP_PASSCODE,
        settings.STOMP_TOKEN_SECRET,
        RABBITMQ_MANAGEMENT_URL,
        settings.STOMP_ADMIN_LOGIN,
        settings.STOMP_ADMIN_PASSCODE,
        presence=False,
        http_fallback=False,
        answer_binding=False,
        history=False,
    )


@pytest.fixture
def rabbitmq_settings(rabbitmq: GameBroker, settings) -> GameBroker:
    """Point Django's publisher and token settings at RabbitMQ."""
    return point_django_at(rabbitmq, settings)


@pytest.fixture(autouse=True)
def game_test_settings(settings) -> None:
    """Tests join many players from one address (the throttles' own tests lower the limits),
    and answer as soon as a question opens (the lead-in's own tests give it one)."""
    settings.QUIZ_JOINS_PER_MINUTE = 100_000
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 100_000
    settings.QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE = 100_000
    settings.QUIZ_LEAD_IN_MS = 0


@pytest.fixture(autouse=True)
def no_games_noted_by_earlier_tests() -> None:
    """A test's ticker hears of its own test's answers only: the games an earlier test's
    answers noted (arrivals, kept per process until a ticker takes them) are dropped."""
    arrivals.answered_games.take()


@pytest.fixture
def author(db) -> User:
    return User.objects.create_user("author", password="pw-123456")


@pytest.fixture
def quiz(author: User) -> Quiz:
    quiz = Quiz.objects.create(author=author, title="Capitals")
    for i, (text, choices) in enumerate(
        [
            ("Capital of France?", [("Paris", True), ("Rome", False)]),
            ("Even numbers?", [("2", True), ("3", False), ("4", True)]),
        ]
    ):
        q = Question.objects.create(quiz=quiz, position=i, text=text, time_limit=20, points=1000)
        for j, (ct, ok) in enumerate(choices):
            Choice.objects.create(question=q, position=j, text=ct, is_correct=ok)
    return quiz
