"""Games do not pile up: an author has a bounded number of games not yet finished, a game a
bounded number of players, and a lobby nobody started (or a game nobody moved on) is finished
after a while, freeing its PIN."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from quiz.game import services
from quiz.game.models import Game, Quiz
from quiz.game.services import GameError


@pytest.fixture
def few_games(settings) -> int:
    settings.QUIZ_LIVE_GAMES_PER_HOST = 2
    return 2


def test_an_author_with_the_most_live_games_is_refused_another(
    quiz: Quiz, author: User, few_games: int
) -> None:
    for _ in range(few_games):
        services.create_game(quiz=quiz, host=author)
    with pytest.raises(GameError) as refusal:
        services.create_game(quiz=quiz, host=author)
    assert (refusal.value.code, refusal.value.status) == ("too_many_games", 409)
    assert Game.objects.filter(host=author).count() == few_games


def test_a_finished_game_makes_room_for_another(quiz: Quiz, author: User, few_games: int) -> None:
    games = [services.create_game(quiz=quiz, host=author) for _ in range(few_games)]
    services.end_game(game_id=games[0].id, user=author)
    assert services.create_game(quiz=quiz, host=author).state == Game.State.LOBBY


def test_the_limit_is_each_authors_own(quiz: Quiz, author: User, few_games: int) -> None:
    for _ in range(few_games):
        services.create_game(quiz=quiz, host=author)
    other = User.objects.create_user("other", password="pw-other-1")
    their_quiz = Quiz.objects.create(author=other, title="Theirs")
    their_quiz.questions.create(text="Q?", time_limit=20)
    assert services.create_game(quiz=their_quiz, host=other).host == other


def test_the_host_page_says_why_no_game_was_opened(
    client: Client, quiz: Quiz, author: User, few_games: int
) -> None:
    for _ in range(few_games):
        services.create_game(quiz=quiz, host=author)
    client.force_login(author)
    refused = client.post(f"/quizzes/{quiz.id}/host/")
    assert refused.status_code == 409
    assert b"end one of them first" in refused.content


def test_a_lobby_left_unstarted_too_long_is_finished_and_its_pin_is_free(
    quiz: Quiz, author: User, settings
) -> None:
    settings.QUIZ_ABANDONED_AFTER_HOURS = 12
    old = services.create_game(quiz=quiz, host=author)
    later = timezone.now() + timedelta(hours=12, minutes=1)
    services.create_game(quiz=quiz, host=author, now=later)
    old.refresh_from_db()
    assert (old.state, old.finished_at) == (Game.State.FINISHED, later)
    with pytest.raises(GameError):
        services.live_game_id(pin=old.pin)


def test_a_game_nobody_moved_on_too_long_is_finished(quiz: Quiz, author: User, settings) -> None:
    settings.QUIZ_ABANDONED_AFTER_HOURS = 12
    old = services.create_game(quiz=quiz, host=author)
    started = timezone.now()
    services.start_game(game_id=old.id, user=author, now=started)
    old.refresh_from_db()
    services.create_game(quiz=quiz, host=author, now=old.deadline + timedelta(hours=12, seconds=1))
    old.refresh_from_db()
    assert old.state == Game.State.FINISHED


def test_a_lobby_younger_than_that_stays_open(quiz: Quiz, author: User, settings) -> None:
    settings.QUIZ_ABANDONED_AFTER_HOURS = 12
    lobby = services.create_game(quiz=quiz, host=author)
    services.create_game(quiz=quiz, host=author, now=timezone.now() + timedelta(hours=11))
    lobby.refresh_from_db()
    assert lobby.state == Game.State.LOBBY


def test_abandoned_games_make_room_under_the_limit(
    quiz: Quiz, author: User, few_games: int, settings
) -> None:
    settings.QUIZ_ABANDONED_AFTER_HOURS = 12
    for _ in range(few_games):
        services.create_game(quiz=quiz, host=author)
    later = timezone.now() + timedelta(hours=13)
    assert services.create_game(quiz=quiz, host=author, now=later).state == Game.State.LOBBY


def test_a_full_game_refuses_one_more_player_and_says_why(game: Game, settings, refused) -> None:
    settings.QUIZ_MAX_PLAYERS_PER_GAME = 2
    for nickname in ("Ann", "Bo"):
        services.join_game(game_id=game.id, nickname=nickname)
    refused("game_full", game, lambda: services.join_game(game_id=game.id, nickname="Cy"))
    with pytest.raises(GameError) as refusal:
        services.join_game(game_id=game.id, nickname="Cy")
    assert "full" in refusal.value.detail and refusal.value.status == 409


def test_a_player_who_left_makes_room(game: Game, settings) -> None:
    settings.QUIZ_MAX_PLAYERS_PER_GAME = 1
    ann = services.join_game(game_id=game.id, nickname="Ann")
    services.leave_game(game_id=game.id, player_id=ann.id)
    assert services.join_game(game_id=game.id, nickname="Bo").nickname == "Bo"
