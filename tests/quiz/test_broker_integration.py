"""A scripted game through the views, watched on the REAL broker by a stomp.py subscriber."""

import pytest
from scripted_game import assert_frames_of_the_scripted_game, play_and_watch

pytestmark = pytest.mark.django_db(transaction=True)


def test_scripted_game_publishes_frames_in_order(game_broker_settings, quiz, author,
                                                 monkeypatch) -> None:
    monkeypatch.undo()  # real publisher and timers
    frames = play_and_watch(game_broker_settings, quiz=quiz, author=author)
    assert_frames_of_the_scripted_game(frames)
