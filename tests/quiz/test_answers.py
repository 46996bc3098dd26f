"""Answers in big games: constant work, counted later, scored on the player's own clock."""

from datetime import timedelta

from django.conf import settings

from quiz.game import services
from quiz.game.models import Answer, Game, Player

LIMIT_MS = 20_000  # the quiz fixture's time limit


def answer(
    game: Game, player: Player, *, after_ms: int, reaction_ms: int | None, correct: bool = True
) -> Answer:
    question = game.current_question
    choice = (
        question.choices.get(is_correct=correct)
        if correct
        else question.choices.filter(is_correct=False).first()
    )
    return services.submit_answer(
        answer=services.ArrivedAnswer(
            game_id=game.id,
            player_id=player.id,
            question_id=question.id,
            choice_ids=[choice.id],
            reaction_ms=reaction_ms,
            arrived=game.opened_at + timedelta(milliseconds=after_ms),
        )
    )


def test_the_players_own_reaction_time_is_what_counts(open_question) -> None:
    game, (ann, _) = open_question
    assert answer(game, ann, after_ms=3_400, reaction_ms=3_000).response_ms == 3_000


def test_a_claim_of_zero_ms_is_clamped_to_the_delivery_allowance(open_question) -> None:
    game, (ann, _) = open_question
    allowance = settings.QUIZ_DELIVERY_ALLOWANCE_MS
    assert answer(game, ann, after_ms=5_000, reaction_ms=0).response_ms == 5_000 - allowance


def test_a_claim_longer_than_the_server_saw_is_capped(open_question) -> None:
    game, (ann, _) = open_question
    assert answer(game, ann, after_ms=2_000, reaction_ms=9_000).response_ms == 2_000


def test_without_a_reaction_time_the_servers_elapsed_time_counts(open_question) -> None:
    game, (ann, _) = open_question
    assert answer(game, ann, after_ms=2_500, reaction_ms=None).response_ms == 2_500


def test_an_answer_that_left_in_time_counts_within_the_grace(open_question) -> None:
    game, (ann, _) = open_question
    late_ms = LIMIT_MS + settings.QUIZ_ANSWER_GRACE_MS - 100
    assert answer(game, ann, after_ms=late_ms, reaction_ms=LIMIT_MS - 500).response_ms == (
        late_ms - settings.QUIZ_DELIVERY_ALLOWANCE_MS
    )


def test_an_answer_past_the_grace_is_refused(open_question, refused) -> None:
    game, (ann, _) = open_question
    refused(
        "too_late",
        game,
        lambda: answer(
            game, ann, after_ms=LIMIT_MS + settings.QUIZ_ANSWER_GRACE_MS, reaction_ms=1_000
        ),
    )


def test_an_answer_after_the_deadline_without_a_reaction_time_is_refused(
    open_question, refused
) -> None:
    game, (ann, _) = open_question
    refused("too_late", game, lambda: answer(game, ann, after_ms=LIMIT_MS, reaction_ms=None))


def test_a_reaction_time_past_the_limit_is_refused(open_question, refused) -> None:
    game, (ann, _) = open_question
    refused(
        "too_late",
        game,
        lambda: answer(game, ann, after_ms=LIMIT_MS + 500, reaction_ms=LIMIT_MS + 100),
    )


def test_two_choices_for_a_single_answer_question_are_refused(open_question, refused) -> None:
    game, (ann, _) = open_question
    question = game.current_question
    refused(
        "invalid_choice",
        game,
        lambda: services.submit_answer(
            answer=services.ArrivedAnswer(
                game_id=game.id,
                player_id=ann.id,
                question_id=question.id,
                choice_ids=list(question.choices.values_list("id", flat=True)),
                arrived=game.opened_at,
            )
        ),
    )


def test_scores_of_a_scripted_round_follow_the_formula(open_question, author) -> None:
    game, (ann, bo) = open_question
    services.set_room_options(game_id=game.id, user=author, latecomers_wait=False)
    cleo = services.join_game(game_id=game.id, nickname="Cleo")
    plays = {ann: (800, 500, True), bo: (6_100, 5_900, True), cleo: (2_000, 1_200, False)}
    for player, (after_ms, reaction_ms, correct) in plays.items():
        answer(game, player, after_ms=after_ms, reaction_ms=reaction_ms, correct=correct)
    services.close_question(game_id=game.id, user=author)
    scores = {p.nickname: p.score for p in Player.objects.filter(game=game)}
    assert scores == {
        "Ann": services.score_answer(points=1000, time_limit=20, response_ms=500, correct=True),
        "Bo": services.score_answer(points=1000, time_limit=20, response_ms=5_900, correct=True),
        "Cleo": 0,
    }


def test_answers_publish_no_frame_and_leave_the_version(
    open_question, no_broker, django_capture_on_commit_callbacks
):
    game, (ann, _) = open_question
    no_broker.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer(game, ann, after_ms=1_000, reaction_ms=900)
    game_after = Game.objects.get(pk=game.pk)
    assert (no_broker, game_after.version) == ([], game.version)


def test_a_report_publishes_one_count_for_all_answers_since_the_last(
    open_question, author, no_broker
) -> None:
    game, players = open_question
    services.set_room_options(game_id=game.id, user=author, latecomers_wait=False)
    extra = [services.join_game(game_id=game.id, nickname=f"P{i}") for i in range(3)]
    for player in [*players, *extra][:4]:
        answer(game, player, after_ms=1_000, reaction_ms=900)
    no_broker.clear()
    services.report_answers(game_id=game.id)
    assert [(f["type"], f["data"]["count"], f["data"]["total"]) for _, f in no_broker] == [
        ("answer_count", 4, 5)
    ]


def test_a_report_closes_the_question_once_everyone_answered(open_question) -> None:
    game, players = open_question
    for player in players:
        answer(game, player, after_ms=1_000, reaction_ms=900)
    services.report_answers(game_id=game.id)
    assert Game.objects.get(pk=game.pk).state == Game.State.QUESTION_CLOSED


def test_overdue_questions_close_with_no_request(open_question) -> None:
    game, _ = open_question
    deadline = game.opened_at + timedelta(milliseconds=LIMIT_MS + settings.QUIZ_ANSWER_GRACE_MS)
    assert services.close_overdue_questions(now=deadline - timedelta(milliseconds=1)) == []
    assert services.close_overdue_questions(now=deadline) == [game.id]


def arrived(game: Game, player: Player, *, after_ms: int, **given) -> services.ArrivedAnswer:
    question = game.current_question
    given.setdefault("choice_ids", (question.choices.get(is_correct=True).id,))
    return services.ArrivedAnswer(
        game_id=game.id,
        player_id=player.id,
        question_id=question.id,
        arrived=game.opened_at + timedelta(milliseconds=after_ms),
        **given,
    )


def test_a_batch_records_each_answer_or_says_why_not_in_order(open_question) -> None:
    game, (ann, bob) = open_question
    outcomes = services.record_answers(
        answers=[
            arrived(game, ann, after_ms=1_000, reaction_ms=900),
            arrived(game, ann, after_ms=1_200, reaction_ms=1_100),
            arrived(game, bob, after_ms=LIMIT_MS + 5_000, reaction_ms=1_000),
            arrived(game, bob, after_ms=2_000, choice_ids=(10**9,)),
        ]
    )
    assert [o.response_ms if isinstance(o, Answer) else o.code for o in outcomes] == [
        900,
        "already_answered",
        "too_late",
        "invalid_choice",
    ]
    assert list(Answer.objects.values_list("player__nickname", "response_ms")) == [("Ann", 900)]


def test_a_batch_is_timed_by_when_each_answer_arrived_not_when_it_is_recorded(
    open_question,
) -> None:
    game, (ann, _) = open_question
    (recorded,) = services.record_answers(
        answers=[arrived(game, ann, after_ms=LIMIT_MS - 100, reaction_ms=None)]
    )
    assert recorded.response_ms == LIMIT_MS - 100
