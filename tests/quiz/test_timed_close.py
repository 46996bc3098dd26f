"""A question closes by itself once its time is up, with no page open and nobody clicking:
the ticker of whichever serving process is alive closes it."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from quiz.game import services
from quiz.game.models import Game
from quiz.game.ticker import Ticker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ticker_closes_an_overdue_question_nobody_asks_about(
    game: Game, author, no_broker
) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    services.start_game(game_id=game.id, user=author)
    Game.objects.filter(pk=game.id).update(
        deadline=timezone.now() - services.grace() + timedelta(seconds=0.2)
    )
    no_broker.clear()
    ticker = Ticker(interval=0.05)  # another process's: this one never opened the question
    ticker.start()
    try:
        for _ in range(100):
            if len(no_broker) >= 3:
                break
            time.sleep(0.05)
    finally:
        ticker.stop()
    assert Game.objects.get(pk=game.id).state == Game.State.QUESTION_CLOSED
    assert [frame["type"] for _, frame in no_broker] == [
        "question_closed",
        "leaderboard",
        "my_result",
    ]
