"""Fixtures for game tests: no broker unless a test asks for one, and a game of the quiz."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from quiz.game import services
from quiz.game.models import Answer, Game, Quiz
from quiz.game.services import GameError


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Capture frames instead of sending them, and skip the broker's admin API a kick calls
    (tests that need the broker ask for one and undo this)."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("quiz.game.publisher.publish", lambda d, f: sent.append((d, f)))
    monkeypatch.setattr("quiz.game.publisher.broker_status", lambda: "up")
    monkeypatch.setattr("quiz.game.revocation.cut_off", lambda **_: None)
    return sent


@pytest.fixture
def game(quiz: Quiz, author: User) -> Game:
    return services.create_game(quiz=quiz, host=author)


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
