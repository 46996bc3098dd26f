"""A question closes by itself at its deadline, with no page open and nobody clicking."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from quiz.game import services
from quiz.game.models import Game

pytestmark = pytest.mark.django_db(transaction=True)


def test_open_question_closes_itself_at_its_deadline(game: Game, author, monkeypatch) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    services.start_game(game_id=game.id, user=author)
    monkeypatch.undo()  # the real timer, and frames captured instead of sent
    frames: list[dict] = []
    monkeypatch.setattr("quiz.game.publisher.publish", lambda _, frame: frames.append(frame))
    game.refresh_from_db()
    deadline = timezone.now() + timedelta(seconds=0.3)
    Game.objects.filter(pk=game.id).update(deadline=deadline)
    services.schedule_close(game_id=game.id, question_id=game.current_question_id,
                            deadline=deadline)
    for _ in range(100):  # the frames go out after the timer's transaction commits
        if len(frames) >= 2:
            break
        time.sleep(0.05)
    game.refresh_from_db()
    assert game.state == Game.State.QUESTION_CLOSED
    assert [frame["type"] for frame in frames] == ["question_closed", "leaderboard"]
