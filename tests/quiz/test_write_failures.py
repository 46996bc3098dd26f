"""While the site's disk refuses writes (for real: tests/disk_faults.py), the
host is told so (not a bare "server failed", nor a 409 with no reason), and a question whose
time ran out closes as soon as writes work again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from disk_faults import disk_refuses_writes
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from quiz.game import services
from quiz.game.models import Game
from quiz.game.ticker import Ticker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def overdue_question(game: Game, author: User) -> Game:
    """Ann in the game, its first question open and its time (with the grace) up."""
    services.join_game(game_id=game.id, nickname="Ann")
    services.start_game(game_id=game.id, user=author)
    Game.objects.filter(pk=game.id).update(deadline=timezone.now() - timedelta(minutes=1))
    return game


def test_a_host_action_that_cannot_be_saved_says_the_site_cannot_write(
    overdue_question: Game, author: User
) -> None:
    host = Client()
    host.force_login(author)
    with disk_refuses_writes():
        response = host.post(f"/api/games/{overdue_question.id}/close/")
    assert response.status_code == 503
    assert response.json()["error"] == "cannot_write"
    assert "cannot save" in response.json()["detail"]
    assert Game.objects.get(pk=overdue_question.id).state == Game.State.QUESTION_OPEN


def test_the_hosts_snapshot_says_so_while_an_overdue_question_cannot_close(
    overdue_question: Game, author: User
) -> None:
    host = Client()
    host.force_login(author)
    with disk_refuses_writes():
        response = host.get(f"/api/games/{overdue_question.id}/snapshot/")
    assert response.status_code == 503
    assert response.json()["error"] == "cannot_write"


def test_a_question_that_could_not_close_closes_once_writes_work(
    overdue_question: Game, no_broker: list
) -> None:
    ticker = Ticker()
    with disk_refuses_writes():
        ticker.tick()
    assert Game.objects.get(pk=overdue_question.id).state == Game.State.QUESTION_OPEN
    ticker.tick()  # the next tick, with the disk back
    assert Game.objects.get(pk=overdue_question.id).state == Game.State.QUESTION_CLOSED
