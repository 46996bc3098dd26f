"""Kahoot's answer streak: correct answers in a row earn a bonus on top of the speed points."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from quiz.game import selectors, services
from quiz.game.models import Answer, Choice, Game, Player, Question, Quiz

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
QUESTION_SECONDS = 60  # each question of the script opens a minute after the one before


def test_the_bonus_grows_by_100_from_the_second_in_a_row_up_to_500() -> None:
    bonuses = [services.streak_bonus(streak=n, points=1000) for n in range(0, 9)]
    assert bonuses == [0, 0, 100, 200, 300, 400, 500, 500, 500]
    assert services.streak_bonus(streak=4, points=2000) == 300
    assert services.streak_bonus(streak=4, points=0) == 0


@pytest.fixture
def long_quiz(author: User) -> Quiz:
    """Eight one-answer questions (the first choice is right); the fifth is worth no points."""
    quiz = Quiz.objects.create(author=author, title="Streaks")
    for i in range(8):
        question = Question.objects.create(
            quiz=quiz, position=i, text=f"Q{i}", time_limit=20, points=0 if i == 4 else 1000
        )
        Choice.objects.create(question=question, position=0, text="right", is_correct=True)
        Choice.objects.create(question=question, position=1, text="wrong", is_correct=False)
    return quiz


def play(quiz: Quiz, author: User, script: dict[str, str]) -> tuple[Game, dict[str, Player]]:
    """A game of `quiz` where each player answers each question as its script says (r: right,
    w: wrong, -: no answer), 1 s after the question opens."""
    game = services.create_game(quiz=quiz, host=author)
    players = {name: services.join_game(game_id=game.id, nickname=name) for name in script}
    for index in range(len(next(iter(script.values())))):
        opened = T0 + timedelta(seconds=QUESTION_SECONDS * index)
        if index == 0:
            services.start_game(game_id=game.id, user=author, now=opened)
        else:
            services.open_next_question(game_id=game.id, user=author, now=opened)
        game.refresh_from_db()
        question = game.current_question
        for name, moves in script.items():
            if moves[index] == "-":
                continue
            choice = question.choices.get(is_correct=moves[index] == "r")
            services.submit_answer(
                answer=services.ArrivedAnswer(
                    game_id=game.id,
                    player_id=players[name].id,
                    question_id=question.id,
                    choice_ids=[choice.id],
                    reaction_ms=1000,
                    arrived=opened + timedelta(seconds=1),
                )
            )
        services.close_question(game_id=game.id, user=author)
    game.refresh_from_db()
    return game, {name: Player.objects.get(pk=p.id) for name, p in players.items()}


def bonuses(player: Player) -> list[int]:
    return list(
        Answer.objects.filter(player=player)
        .order_by("question__position")
        .values_list("streak_bonus", flat=True)
    )


def test_a_wrong_answer_or_none_breaks_the_streak(long_quiz: Quiz, author: User) -> None:
    _, players = play(long_quiz, author, {"Ann": "rrwrr", "Bo": "rr-rr"})
    assert bonuses(players["Ann"]) == [0, 100, 0, 0, 0]  # the 5th is worth no points
    assert bonuses(players["Bo"]) == [0, 100, 0, 0]
    assert players["Ann"].streak == players["Bo"].streak == 2


def test_the_score_is_the_speed_points_plus_the_bonuses(long_quiz: Quiz, author: User) -> None:
    game, players = play(long_quiz, author, {"Ann": "rrrrrrrr", "Cy": "wwwwwwww"})
    ann = players["Ann"]
    speed = services.score_answer(points=1000, time_limit=20, response_ms=1000, correct=True)
    # streaks 1..8; the 5th question (streak 5) is worth nothing, bonus included
    assert bonuses(ann) == [0, 100, 200, 300, 0, 500, 500, 500]
    assert ann.streak == 8
    assert ann.score == 7 * speed + 2100
    in_order = Answer.objects.filter(player=ann).order_by("question__position")
    assert list(in_order.values_list("points", flat=True)) == [speed] * 4 + [0] + [speed] * 3
    assert players["Cy"].score == 0 and players["Cy"].streak == 0
    assert [p["streak"] for p in selectors.ranked_players(game=game)] == [8, 0]


def test_the_results_show_each_players_bonus_and_streak(long_quiz: Quiz, author: User) -> None:
    game, players = play(long_quiz, author, {"Ann": "rrr", "Bo": "rrw"})
    results = selectors.results_data(game=game)
    by_name = {p["nickname"]: p for p in results["players"]}
    assert (by_name["Ann"]["streak_bonus"], by_name["Ann"]["streak"]) == (200, 3)
    assert (by_name["Bo"]["streak_bonus"], by_name["Bo"]["streak"]) == (0, 0)
    mine = selectors.snapshot(game=game, player=players["Ann"])["me"]
    assert mine["streak"] == 3
