"""Each question opens with a lead-in: its text alone, then the answers and the time limit."""

from datetime import UTC, datetime, timedelta

import pytest

from quiz.game import selectors, services
from quiz.game.models import Game

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEAD_IN_MS = 3000


@pytest.fixture
def leading_in(
    game: Game, author, settings, django_capture_on_commit_callbacks
) -> tuple[Game, int]:
    """Ann in the game; its first question (20 s) opened at T0 with a 3 s lead-in."""
    settings.QUIZ_LEAD_IN_MS = LEAD_IN_MS
    ann = services.join_game(game_id=game.id, nickname="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        services.start_game(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    return game, ann.id


def answer(game: Game, player_id: int, *, after_ms: int):
    question = game.current_question
    return services.submit_answer(
        answer=services.ArrivedAnswer(
            game_id=game.id,
            player_id=player_id,
            question_id=question.id,
            choice_ids=[question.choices.get(is_correct=True).id],
            arrived=T0 + timedelta(milliseconds=after_ms),
        )
    )


def test_the_answers_and_the_time_limit_start_after_the_lead_in(leading_in, no_broker) -> None:
    game, _ = leading_in
    assert game.opened_at == T0 + timedelta(milliseconds=LEAD_IN_MS)
    assert game.deadline == game.opened_at + timedelta(seconds=20)
    [frame] = [f for _, f in no_broker if f["type"] == "question_open"]
    assert frame["data"]["question"]["opened_at"] == selectors.ms(game.opened_at)


def test_an_answer_during_the_lead_in_is_refused(leading_in, refused) -> None:
    game, ann = leading_in
    refused("not_open_yet", game, lambda: answer(game, ann, after_ms=LEAD_IN_MS - 1))


def test_response_time_counts_from_the_end_of_the_lead_in(leading_in) -> None:
    game, ann = leading_in
    assert answer(game, ann, after_ms=LEAD_IN_MS + 2_000).response_ms == 2_000
