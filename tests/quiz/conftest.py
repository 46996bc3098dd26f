"""Fixtures for game tests: no broker unless a test asks for one, and a game of the quiz."""

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

# The game tests' fixtures: pytest finds fixtures in the conftest that holds their names.
from game_fixtures import *  # noqa: F403
from real_broker import REPO

from quiz import live
from quiz.game import services
from quiz.game.models import Answer, Choice, Game, Player, Question, Quiz
from quiz.game.services import GameError


@pytest.fixture(autouse=True)
def no_broker(request: pytest.FixtureRequest, settings) -> list[tuple[str, dict]]:
    """The frames the game sent, as `(destination, body)`: the in-memory backend keeps them,
    always up, and a kick cuts no one off, unless the test is marked `real_publisher` (the
    STOMP backend, to the broker the settings name)."""
    if request.node.get_closest_marker("real_publisher") is not None:
        return []
    settings.QUIZ_LIVE_BACKEND = "quiz.live.backends.locmem.MemoryBackend"
    return live.get_backend().sent


SettingsReader = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fresh_settings() -> SettingsReader:
    """`read("SECRET_KEY", DEBUG="0")`: import the settings as a fresh process does, with those
    variables over the environment (less SECRET_KEY and DEBUG), and print that setting."""

    def read(name: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
        return subprocess.run(
            [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**environment, "DJANGO_SETTINGS_MODULE": "quiz.settings", **env},
            timeout=60,
        )

    return read


@pytest.fixture
def game(quiz: Quiz, author: User) -> Game:
    return services.create_game(quiz=quiz, host=author)


@pytest.fixture
def open_question(game: Game, author: User) -> tuple[Game, list[Player]]:
    """Ann and Bo in the game, its first question ("Capital of France?": Paris is right, 20 s)
    open since `game.opened_at`, a fixed moment that tests count answer times from."""
    players = [services.join_game(game_id=game.id, nickname=name) for name in ("Ann", "Bo")]
    services.start_game(game_id=game.id, user=author, now=datetime(2026, 1, 1, 12, tzinfo=UTC))
    game.refresh_from_db()
    return game, players


def game_state(game: Game) -> tuple:
    """What a refused action must leave as it was: version, state, scores and answers."""
    game.refresh_from_db()
    return (
        game.version,
        game.state,
        list(game.players.values_list("score", flat=True)),
        Answer.objects.filter(player__game=game).count(),
    )


@pytest.fixture
def refused() -> Callable[[str, Game, Callable[[], object]], None]:
    """Assert that `action` is refused with `code` and changes nothing of `game`."""

    def check(code: str, game: Game, action: Callable[[], object]) -> None:
        before = game_state(game)
        with pytest.raises(GameError) as info:
            action()
        assert info.value.code == code
        assert game_state(game) == before

    return check


# One question of each kind, in this order: (kind, text, [(choice text, correct)]).
KINDS_QUIZ = [
    ("choice", "Capital of France?", [("Paris", True), ("Rome", False)]),
    ("true_false", "The Sun is a star.", [("True", True), ("False", False)]),
    ("poll", "Best season?", [("Summer", False), ("Winter", False), ("Spring", False)]),
    ("type_answer", "Capital of Japan?", [("Tokyo", True), ("Edo", True)]),
    (
        "order",
        "Smallest to largest?",
        [("Moon", False), ("Mars", False), ("Earth", False), ("Sun", False)],
    ),
]


@pytest.fixture
def kinds_quiz(author) -> Quiz:
    """A quiz with one question of every kind (KINDS_QUIZ), 20 s and 1000 points each."""
    quiz = Quiz.objects.create(author=author, title="Every kind")
    for position, (kind, text, choices) in enumerate(KINDS_QUIZ):
        question = Question.objects.create(
            quiz=quiz, position=position, kind=kind, text=text, time_limit=20, points=1000
        )
        Choice.objects.bulk_create(
            Choice(question=question, position=i, text=choice, is_correct=correct)
            for i, (choice, correct) in enumerate(choices)
        )
    return quiz
