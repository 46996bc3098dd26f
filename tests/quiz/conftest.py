"""Fixtures for game tests: no broker unless a test asks for one, and a game of the quiz."""

import pytest
from django.contrib.auth.models import User

from quiz.game import services
from quiz.game.models import Game, Quiz


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Capture frames instead of sending them."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("quiz.game.publisher.publish", lambda d, f: sent.append((d, f)))
    monkeypatch.setattr("quiz.game.publisher.broker_status", lambda: "up")
    return sent


@pytest.fixture
def game(quiz: Quiz, author: User) -> Game:
    return services.create_game(quiz=quiz, host=author)
