"""The rules of a game, one transition or refusal at a time."""

from datetime import UTC, datetime, timedelta

import pytest

from quiz.game import services
from quiz.game.models import Answer, Choice, Game, Player
from quiz.game.services import GameError

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def answer(game: Game, player: Player, choice: Choice, *, after: float = 0) -> Answer:
    """`player` picks `choice` (to its question), `after` seconds past the open question's
    opening."""
    return services.submit_answer(
        answer=services.ArrivedAnswer(
            game_id=game.id,
            player_id=player.id,
            question_id=choice.question_id,
            choice_ids=[choice.id],
            arrived=game.opened_at + timedelta(seconds=after),
        )
    )


def closed(game: Game) -> bool:
    """Whether the game's question is closed, as the database has it now."""
    game.refresh_from_db()
    return game.state == Game.State.QUESTION_CLOSED


def test_scoring_follows_kahoot() -> None:
    assert services.score_answer(points=1000, time_limit=20, response_ms=0, correct=True) == 1000
    assert services.score_answer(points=1000, time_limit=20, response_ms=10000, correct=True) == 750
    assert (
        services.score_answer(points=2000, time_limit=20, response_ms=20000, correct=True) == 1000
    )
    assert services.score_answer(points=1000, time_limit=20, response_ms=1, correct=False) == 0


def test_join_refuses_taken_nickname_case_insensitively(game: Game, refused) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    refused("nickname_taken", game, lambda: services.join_game(game_id=game.id, nickname=" ann "))


@pytest.mark.parametrize("nickname", ["", "   ", "x" * 21, "a\x07b"])
def test_join_refuses_invalid_nickname(game: Game, nickname: str, refused) -> None:
    refused(
        "invalid_nickname", game, lambda: services.join_game(game_id=game.id, nickname=nickname)
    )


def test_wrong_pin_is_refused(game: Game) -> None:
    with pytest.raises(GameError) as info:
        services.find_live_game(pin="000000" if game.pin != "000000" else "111111")
    assert info.value.code == "wrong_pin"


def test_finished_game_refuses_joins(game: Game, author, refused) -> None:
    services.end_game(game_id=game.id, user=author)
    refused("game_finished", game, lambda: services.join_game(game_id=game.id, nickname="Bo"))


def test_only_host_can_start(game: Game, django_user_model, refused) -> None:
    other = django_user_model.objects.create_user("other")
    refused("not_host", game, lambda: services.start_game(game_id=game.id, user=other))


def test_full_round_scores_and_closes_when_everyone_answered(open_question) -> None:
    game, (ann, bo) = open_question
    paris, rome = game.current_question.choices.all()
    answer(game, ann, paris, after=10)
    answer(game, bo, rome, after=1)
    services.report_answers(game_id=game.id)
    ann.refresh_from_db()
    assert (closed(game), ann.score) == (True, 750)


def test_late_duplicate_and_foreign_answers_are_refused(open_question, quiz, refused) -> None:
    game, (ann, _) = open_question
    paris = game.current_question.choices.first()
    refused("too_late", game, lambda: answer(game, ann, paris, after=20))
    other_q = quiz.questions.last()
    refused("question_not_open", game, lambda: answer(game, ann, other_q.choices.first()))
    answer(game, ann, paris)
    refused("already_answered", game, lambda: answer(game, ann, paris))


def test_close_if_due_closes_once_after_deadline_and_grace(open_question) -> None:
    game, _ = open_question
    for after, closes in ((20, False), (21, True), (30, False)):
        now = game.opened_at + timedelta(seconds=after)
        assert services.close_question_if_due(game_id=game.id, now=now) == closes, after


def test_next_after_last_question_finishes(game: Game, author) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    services.start_game(game_id=game.id, user=author, now=T0)
    services.close_question(game_id=game.id, user=author)
    services.open_next_question(game_id=game.id, user=author, now=T0)
    services.close_question(game_id=game.id, user=author)
    services.open_next_question(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    assert game.state == Game.State.FINISHED


def test_kicked_player_cannot_answer(game: Game, author, refused) -> None:
    ann = services.join_game(game_id=game.id, nickname="Ann")
    services.join_game(game_id=game.id, nickname="Bo")
    services.kick_player(game_id=game.id, player_id=ann.id, user=author)
    services.start_game(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    refused("kicked", game, lambda: answer(game, ann, game.current_question.choices.first()))


def test_no_frame_carries_correctness_while_open(
    game: Game, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.join_game(game_id=game.id, nickname="Ann")
        services.start_game(game_id=game.id, user=author, now=T0)
    open_frames = [f for _, f in no_broker if f["type"] == "question_open"]
    assert open_frames and "is_correct" not in str(open_frames)
    assert "correct_choice_ids" not in str(open_frames)


def test_leaving_player_is_announced_and_no_longer_counted(
    game: Game, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ann = services.join_game(game_id=game.id, nickname="Ann")
        services.join_game(game_id=game.id, nickname="Bo")
        services.leave_game(game_id=game.id, player_id=ann.id, now=T0)
    left = [frame for _, frame in no_broker if frame["type"] == "player_left"]
    assert [(f["data"]["player"]["nickname"], f["data"]["count"]) for f in left] == [("Ann", 1)]
    game.refresh_from_db()
    assert [p["nickname"] for p in services.selectors.ranked_players(game=game)] == ["Bo"]


def test_question_closes_when_the_last_unanswered_player_leaves(open_question) -> None:
    game, (ann, bo) = open_question
    answer(game, ann, game.current_question.choices.first())
    services.report_answers(game_id=game.id)
    services.leave_game(game_id=game.id, player_id=bo.id, now=game.opened_at)
    assert closed(game)


def test_player_who_left_cannot_answer_or_leave_again(open_question, refused) -> None:
    game, (ann, _) = open_question
    services.leave_game(game_id=game.id, player_id=ann.id, now=game.opened_at)
    refused("left", game, lambda: answer(game, ann, game.current_question.choices.first()))
    refused("left", game, lambda: services.leave_game(game_id=game.id, player_id=ann.id))


@pytest.mark.parametrize(
    "look_alike",
    [
        "ANN",
        "Ａｎｎ",
        "ａｎｎ",
        "Ann",
        "\u0410nn",  # Cyrillic capital A
        "\u0430nn",  # Cyrillic small a
        "\u0391nn",  # Greek capital alpha
    ],
)
def test_nicknames_that_only_look_different_are_taken(game: Game, look_alike: str, refused) -> None:
    services.join_game(game_id=game.id, nickname="ann")
    refused(
        "nickname_taken", game, lambda: services.join_game(game_id=game.id, nickname=look_alike)
    )


@pytest.mark.parametrize(
    "with_invisible",
    [
        "Ann\u3164",  # Hangul filler
        "Ann\u115f",  # Hangul choseong filler
        "Ann\u2800",  # Braille pattern blank
        "A\u034fnn",  # combining grapheme joiner
        "Ann\ufe0f",  # variation selector
        "Ann \u2800",  # a space and a blank after the name
    ],
)
def test_nicknames_with_invisible_letters_are_taken(
    game: Game, with_invisible: str, refused
) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    refused(
        "nickname_taken", game, lambda: services.join_game(game_id=game.id, nickname=with_invisible)
    )


@pytest.mark.parametrize("blank", ["\u3164", "\u115f\u1160", "\u2800\u2800", " \u3164 ", "\u034f"])
def test_a_nickname_of_invisible_letters_only_is_refused(game: Game, blank: str, refused) -> None:
    refused("invalid_nickname", game, lambda: services.join_game(game_id=game.id, nickname=blank))


def test_the_nickname_key_is_unique_per_game_in_the_database(game: Game) -> None:
    from django.db import IntegrityError

    from quiz.game.models import Player

    services.join_game(game_id=game.id, nickname="Ａｎｎ")
    with pytest.raises(IntegrityError):
        Player.objects.create(game=game, nickname="ann", nickname_key="ann")


@pytest.mark.parametrize("nickname", ["Anna", "Al", "AI", "Вера", "Zoë"])
def test_different_nicknames_stay_different(game: Game, nickname: str) -> None:
    services.join_game(game_id=game.id, nickname="Ann")
    assert services.join_game(game_id=game.id, nickname=nickname).nickname == nickname


def test_the_same_nickname_may_play_in_another_game(game: Game, quiz, author) -> None:
    other = services.create_game(quiz=quiz, host=author)
    services.join_game(game_id=game.id, nickname="Ann")
    assert services.join_game(game_id=other.id, nickname="Ａｎｎ").nickname == "Ａｎｎ"


def test_a_nickname_that_normalisation_lengthens_still_joins(game: Game) -> None:
    long_one = "\u3300" * 20  # NFKC makes each of these 4 characters (アパート)
    assert services.join_game(game_id=game.id, nickname=long_one).nickname == long_one
