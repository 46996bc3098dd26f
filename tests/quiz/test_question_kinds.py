"""Question kinds besides multiple choice: true/false, poll, type answer and order. Each is
answered, refused, scored and shown by its own rules, and none tells its answer while open."""

import collections
import csv
import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from quiz.game import selectors, services
from quiz.game.kinds import order
from quiz.game.models import Answer, Game, Player, Quiz, typed_answer_key
from quiz.game.quiz_io import export_quiz, import_quiz
from tests.quiz.conftest import KINDS_QUIZ

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KINDS = [kind for kind, _, _ in KINDS_QUIZ]
RIGHT_ORDER = ["Moon", "Mars", "Earth", "Sun"]


@pytest.fixture
def kinds_game(kinds_quiz: Quiz, author: User) -> tuple[Game, Player, Player]:
    """A lobby of the every-kind quiz with Ann and Bo in it."""
    game = services.create_game(quiz=kinds_quiz, host=author)
    ann, bo = (services.join_game(game_id=game.id, nickname=name) for name in ("Ann", "Bo"))
    return game, ann, bo


def open_kind(game: Game, author: User, kind: str, now: datetime = T0) -> Game:
    """Play on (nobody answering) until the question of `kind` is open, opened `now`."""
    services.start_game(game_id=game.id, user=author, now=now)
    for _ in range(KINDS.index(kind)):
        services.close_question(game_id=game.id, user=author)
        services.open_next_question(game_id=game.id, user=author, now=now)
    game.refresh_from_db()
    assert game.current_question.kind == kind
    return game


def send(game: Game, player: Player, **given: Any) -> Answer:
    """`player`'s answer to the open question (choice_ids or text), 1 s after it opened."""
    return services.submit_answer(
        answer=services.ArrivedAnswer(
            game_id=game.id,
            player_id=player.id,
            question_id=game.current_question_id,
            reaction_ms=1000,
            arrived=T0 + timedelta(seconds=1),
            **given,
        )
    )


def ids_of(game: Game, *texts: str) -> list[int]:
    """The ids the phones were shown for these choices (or items), in the order given."""
    shown = {c["text"]: c["id"] for c in selectors.question_data(game=game)["choices"]}
    return [shown[text] for text in texts]


def close(game: Game, author: User) -> dict[str, Any]:
    services.close_question(game_id=game.id, user=author)
    game.refresh_from_db()
    return selectors.results_data(game=game)


def outcome(results: dict[str, Any], player: Player) -> tuple[bool, int]:
    line = next(p for p in results["players"] if p["id"] == player.id)
    return line["correct"], line["points"]


def test_true_false_is_two_choices_one_right(kinds_game, author) -> None:
    game, ann, bo = kinds_game
    open_kind(game, author, "true_false")
    assert [c["text"] for c in selectors.question_data(game=game)["choices"]] == ["True", "False"]
    send(game, ann, choice_ids=ids_of(game, "True"))
    send(game, bo, choice_ids=ids_of(game, "False"))
    results = close(game, author)
    assert (outcome(results, ann)[0], outcome(results, bo)) == (True, (False, 0))
    assert results["correct_choice_ids"] == ids_of(game, "True")


def test_a_poll_gives_no_points_and_leaves_every_streak_as_it_was(kinds_game, author) -> None:
    game, ann, bo = kinds_game
    services.start_game(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    send(game, ann, choice_ids=ids_of(game, "Paris"))  # Ann's streak: 1, Bo's: 0
    services.close_question(game_id=game.id, user=author)
    services.open_next_question(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    send(game, ann, choice_ids=ids_of(game, "True"))  # Ann: 2
    send(game, bo, choice_ids=ids_of(game, "True"))  # Bo: 1
    services.close_question(game_id=game.id, user=author)
    services.open_next_question(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    before = {p.nickname: (p.score, p.streak, p.correct_count) for p in game.players.all()}
    send(game, ann, choice_ids=ids_of(game, "Winter"))  # Bo votes for nothing
    results = close(game, author)
    after = {p.nickname: (p.score, p.streak, p.correct_count) for p in game.players.all()}
    assert after == before and after["Ann"][1] == 2 and after["Bo"][1] == 1
    assert outcome(results, ann) == (False, 0)
    assert results["correct_choice_ids"] == []
    assert results["distribution"] == {
        str(i): n
        for i, n in zip(ids_of(game, "Summer", "Winter", "Spring"), (0, 1, 0), strict=True)
    }


def test_a_poll_takes_one_vote(kinds_game, author, refused) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "poll")
    refused(
        "invalid_choice", game, lambda: send(game, ann, choice_ids=ids_of(game, "Summer", "Winter"))
    )


@pytest.mark.parametrize("typed", ["Tokyo", "  tokyo ", "TŌKYŌ", "Tōkyō", "ｔｏｋｙｏ", "edo"])
def test_a_typed_answer_matches_ignoring_case_accents_and_spaces(
    kinds_game, author, typed: str
) -> None:
    game, ann, bo = kinds_game
    open_kind(game, author, "type_answer")
    send(game, ann, text=typed)
    send(game, bo, text="Kyoto")
    results = close(game, author)
    assert outcome(results, ann)[0] is True and outcome(results, ann)[1] > 0
    assert outcome(results, bo) == (False, 0)


def test_the_typed_answer_key_is_nfkd_without_marks_casefolded_and_stripped() -> None:
    assert typed_answer_key("  Crème Brûlée\t") == "creme brulee"
    assert typed_answer_key("STRASSE") == typed_answer_key("straße")


def test_type_answer_results_show_the_accepted_answers_and_how_many_typed_each(
    kinds_game, author
) -> None:
    game, ann, bo = kinds_game
    cy = services.join_game(game_id=game.id, nickname="Cy")
    open_kind(game, author, "type_answer")
    send(game, ann, text="tokyo")
    send(game, bo, text="Kyoto")
    send(game, cy, text="TOKYO ")
    results = close(game, author)
    accepted = {a["text"]: a["id"] for a in results["accepted_answers"]}
    assert set(accepted) == {"Tokyo", "Edo"}
    assert results["distribution"] == {
        str(accepted["Tokyo"]): 2,
        str(accepted["Edo"]): 0,
        "other": 1,
    }
    assert (results["correct_choice_ids"], results["correct_order"]) == ([], [])


@pytest.mark.parametrize(
    "given",
    [{"text": ""}, {"text": "   "}, {"text": "x" * 101}, {"choice_ids": [1]}],
    ids=["empty", "spaces", "too-long", "choices"],
)
def test_a_type_answer_question_refuses_a_bad_text(kinds_game, author, refused, given) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "type_answer")
    refused("invalid_text", game, lambda: send(game, ann, **given))


def test_a_question_of_choices_refuses_text(kinds_game, author, refused) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "choice")
    refused("invalid_choice", game, lambda: send(game, ann, text="Paris"))


def test_order_items_are_shuffled_the_same_for_everyone_under_their_places(
    kinds_game, author, client: Client
) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "order")
    shown = selectors.question_data(game=game)["choices"]
    assert [item["id"] for item in shown] == [1, 2, 3, 4]
    assert [item["text"] for item in shown] != RIGHT_ORDER
    assert sorted(item["text"] for item in shown) == sorted(RIGHT_ORDER)
    bo_snapshot = selectors.snapshot(game=game, player=game.players.get(nickname="Bo"))
    assert selectors.snapshot(game=game, player=ann)["question"]["choices"] == shown
    assert bo_snapshot["question"]["choices"] == shown


class EnumeratedRandom:
    """A stand-in for random.Random whose draws, over consecutive seeds, give every outcome
    equally often: the n-th instance's shuffle is the n-th of all orders (cyclically), its
    choice the n-th item. Whatever a fair generator does, this does exactly evenly."""

    made = 0

    def __init__(self, seed: object) -> None:
        self.index = EnumeratedRandom.made
        EnumeratedRandom.made += 1

    def shuffle(self, items: list) -> None:
        orders = list(itertools.permutations(items))
        items[:] = orders[self.index % len(orders)]

    def choice(self, sequence: list) -> object:
        return sequence[self.index % len(sequence)]


@pytest.mark.parametrize("count", [3, 4])
def test_order_items_are_shown_in_each_wrong_order_equally_often(monkeypatch, count) -> None:
    """Every order but the right one, equally often: none tells players more than another."""
    monkeypatch.setattr(order.random, "Random", EnumeratedRandom)
    items = list(range(1, count + 1))
    wrong_orders = math.factorial(count) - 1
    draws = math.lcm(math.factorial(count), wrong_orders)  # a whole cycle of either draw
    shown = collections.Counter(
        tuple(order.order_shown(game_id=1, question_id=q, items=items)) for q in range(draws)
    )
    assert tuple(items) not in shown
    assert len(shown) == wrong_orders
    assert set(shown.values()) == {draws // wrong_orders}


def test_an_order_is_right_only_when_exactly_right(kinds_game, author) -> None:
    game, ann, bo = kinds_game
    open_kind(game, author, "order")
    send(game, ann, choice_ids=ids_of(game, *RIGHT_ORDER))
    send(game, bo, choice_ids=ids_of(game, "Moon", "Mars", "Sun", "Earth"))
    results = close(game, author)
    assert outcome(results, ann)[0] is True and outcome(results, ann)[1] > 0
    assert outcome(results, bo) == (False, 0)
    assert results["correct_order"] == ids_of(game, *RIGHT_ORDER)
    assert results["distribution"] == {"right": 1, "wrong": 1}
    answer = Answer.objects.get(player=bo)
    texts = dict(game.current_question.choices.values_list("id", "text"))
    assert [texts[int(i)] for i in answer.order_ids.split(",")] == ["Moon", "Mars", "Sun", "Earth"]


@pytest.mark.parametrize(
    "order", [[1, 2, 3], [1, 1, 2, 3], [1, 2, 3, 5], [0, 1, 2, 3], []], ids=str
)
def test_an_order_must_give_every_item_once(kinds_game, author, refused, order) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "order")
    refused("invalid_order", game, lambda: send(game, ann, choice_ids=order))


def test_an_order_question_refuses_its_items_database_ids(kinds_game, author, refused) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "order")
    ids = list(game.current_question.choices.values_list("id", flat=True))
    refused("invalid_order", game, lambda: send(game, ann, choice_ids=ids))


def right_answer_of(game: Game, kind: str) -> dict[str, Any]:
    return {
        "choice": lambda: {"choice_ids": ids_of(game, "Paris")},
        "true_false": lambda: {"choice_ids": ids_of(game, "True")},
        "poll": lambda: {"choice_ids": ids_of(game, "Summer")},
        "type_answer": lambda: {"text": "Tokyo"},
        "order": lambda: {"choice_ids": ids_of(game, *RIGHT_ORDER)},
    }[kind]()


def tells_the_answer(kind: str, game: Game, seen: Any) -> list[str]:
    """What in `seen` (frames, snapshots) gives away the open question's answer."""
    text = json.dumps(seen)
    leaks = [word for word in ("correct", "accepted", "is_correct") if word in text]
    if kind == "type_answer":
        leaks += [word for word in ("Tokyo", "Edo") if word in text]
    if kind == "order":
        choice_ids = set(game.current_question.choices.values_list("id", flat=True))
        for question in _questions_in(seen):
            items = question["choices"]
            if [item["text"] for item in items] == RIGHT_ORDER:
                leaks.append("items in the right order")
            if {item["id"] for item in items} & choice_ids:
                leaks.append("database ids")
    return leaks


def _questions_in(seen: Any) -> list[dict[str, Any]]:
    if isinstance(seen, dict):
        found = [seen] if "choices" in seen and "kind" in seen else []
        return found + [q for value in seen.values() for q in _questions_in(value)]
    if isinstance(seen, list):
        return [q for value in seen for q in _questions_in(value)]
    return []


@pytest.mark.parametrize("kind", KINDS)
def test_no_frame_or_snapshot_tells_the_answer_while_the_question_is_open(
    kinds_game, author, kind: str, no_broker, django_capture_on_commit_callbacks
) -> None:
    game, ann, _ = kinds_game
    with django_capture_on_commit_callbacks(execute=True):
        open_kind(game, author, kind)
    with django_capture_on_commit_callbacks(execute=True):
        send(game, ann, **right_answer_of(game, kind))
        services.report_answers(game_id=game.id)
        services.join_game(game_id=game.id, nickname="Late")
    types = [f["type"] for _, f in no_broker]
    since_open = [f for _, f in no_broker][len(types) - 1 - types[::-1].index("question_open") :]
    assert [f["type"] for f in since_open] == ["question_open", "answer_count", "player_joined"]
    assert since_open[0]["data"]["question"]["kind"] == kind
    snapshots = [selectors.snapshot(game=game), selectors.snapshot(game=game, player=ann)]
    assert tells_the_answer(kind, game, since_open + snapshots) == []


API_CASES = {
    # kind: (a bad answer's body, the code it is refused with)
    "choice": ({"choice_ids": [999_999]}, "invalid_choice"),
    "true_false": ({"choice_ids": ["True", "False"]}, "invalid_choice"),
    "poll": ({"text": "Summer"}, "invalid_choice"),
    "type_answer": ({"text": " "}, "invalid_text"),
    "order": ({"choice_ids": [1, 1, 2, 3]}, "invalid_order"),
}


def wrong_answer_of(game: Game, kind: str) -> dict[str, Any]:
    return {
        "choice": lambda: {"choice_ids": ids_of(game, "Rome")},
        "true_false": lambda: {"choice_ids": ids_of(game, "False")},
        "poll": lambda: {"choice_ids": ids_of(game, "Winter")},
        "type_answer": lambda: {"text": "Kyoto"},
        "order": lambda: {"choice_ids": list(reversed(ids_of(game, *RIGHT_ORDER)))},
    }[kind]()


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_takes_each_kinds_answer_and_refuses_a_bad_one(
    kinds_quiz, author, kind: str
) -> None:
    game = services.create_game(quiz=kinds_quiz, host=author)
    phones = {}
    for name in ("Ann", "Bo", "Cy"):
        phones[name] = Client()
        phones[name].post("/join/", {"pin": game.pin, "nickname": name})
    open_kind(game, author, kind, now=timezone.now())
    url = f"/api/games/{game.id}/answer/"

    def post(name: str, body: dict[str, Any]):
        data = {"question_id": game.current_question_id, **body}
        return phones[name].post(url, data=data, content_type="application/json")

    assert post("Ann", right_answer_of(game, kind)).json()["answered"] is True
    assert post("Bo", wrong_answer_of(game, kind)).json()["answered"] is True
    bad, code = API_CASES[kind]
    if kind == "true_false":  # both choices, by the ids the phones were shown
        bad = {"choice_ids": ids_of(game, *bad["choice_ids"])}
    response = post("Cy", bad)
    assert (response.status_code, response.json()["error"]) == (400, code)
    both = post("Cy", {"choice_ids": [1], "text": "x"})
    assert (both.status_code, both.json()["error"]) == (400, "invalid_input")
    host = Client()
    host.force_login(author)
    results = host.post(f"/api/games/{game.id}/close/").json()["results"]
    verdicts = {p["nickname"]: (p["correct"], p["points"] > 0) for p in results["players"]}
    right = kind != "poll"
    assert verdicts == {"Ann": (right, right), "Bo": (False, False), "Cy": (False, False)}


def test_every_kind_survives_export_and_import(kinds_quiz, author) -> None:
    exported = export_quiz(quiz=kinds_quiz)
    assert [q["kind"] for q in exported["questions"]] == KINDS
    copy = import_quiz(author=author, data=exported)
    # a poll comes back with no points: nobody scores on it (the fixture's 1000 is older data)
    unscored = [{**q, "points": 0} if q["kind"] == "poll" else q for q in exported["questions"]]
    assert export_quiz(quiz=copy) == {**exported, "questions": unscored}
    assert [[(c.text, c.is_correct) for c in q.choices.all()] for q in copy.questions.all()] == [
        [(t, ok) for t, ok in choices] for _, _, choices in KINDS_QUIZ
    ]


@pytest.mark.parametrize(
    "index, change, message",
    [
        (
            1,
            {"choices": [{"text": "Yes", "correct": True}, {"text": "No", "correct": False}]},
            'question 2, choices: The choices are "True" and "False", one of them correct.',
        ),
        (
            2,
            {"choices": [{"text": "a", "correct": True}, {"text": "b"}]},
            "question 3, choices: A question of kind poll has no choice marked correct.",
        ),
        (3, {"choices": []}, "question 4, choices: A question has 1 to 4 accepted answers."),
        (
            3,
            {"choices": [{"text": "x" * 101}]},
            "question 4, choices: An accepted answer has at most 100 characters.",
        ),
        (
            4,
            {"choices": [{"text": "a"}, {"text": "b"}]},
            "question 5, choices: A question has 3 to 4 items to order.",
        ),
        (0, {"kind": "essay"}, "question 1, kind: Select a valid choice."),
    ],
)
def test_import_refuses_a_question_that_breaks_its_kinds_rules(
    kinds_quiz, author, index: int, change: dict, message: str
) -> None:
    data = export_quiz(quiz=kinds_quiz)
    data["questions"][index].update(change)
    with pytest.raises(ValidationError) as info:
        import_quiz(author=author, data=data)
    assert info.value.messages[0].startswith(message)
    assert Quiz.objects.count() == 1


@pytest.fixture
def played(kinds_game, author) -> Game:
    """Ann answers every question (all right; the poll: Winter); Bo none. Finished."""
    game, ann, _ = kinds_game
    services.start_game(game_id=game.id, user=author, now=T0)
    for kind in KINDS:
        game.refresh_from_db()
        given = right_answer_of(game, kind)
        if kind == "poll":
            given = {"choice_ids": ids_of(game, "Winter")}
        send(game, ann, **given)
        services.close_question(game_id=game.id, user=author)
        services.open_next_question(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    assert game.state == Game.State.FINISHED
    return game


def test_the_csv_gives_each_answer_of_every_kind(played: Game, author) -> None:
    client = Client()
    client.force_login(author)
    rows = list(
        csv.reader(client.get(f"/games/{played.id}/results.csv").content.decode().splitlines())
    )
    assert rows[0] == ["rank", "nickname", "score", "correct_answers", "q1", "q2", "q3", "q4", "q5"]
    assert rows[1][1:] == [
        "Ann",
        rows[1][2],
        "4",
        "Paris",
        "True",
        "Winter",
        "Tokyo",
        "Moon > Mars > Earth > Sun",
    ]
    assert rows[2][1:] == ["Bo", "0", "0", "", "", "", "", ""]


def test_the_report_gives_no_share_right_for_a_poll(played: Game, author) -> None:
    report = selectors.game_report(game=played)
    assert [q["right_percent"] for q in report["questions"]] == [100, 100, None, 100, 100]
    assert report["players"][0]["answers"][2]["correct"] is None
    assert report["players"][0]["answers"][4]["choices"] == "Moon > Mars > Earth > Sun"


def test_a_typed_answer_that_looks_like_a_formula_stays_text_in_the_csv(kinds_game, author) -> None:
    game, ann, _ = kinds_game
    open_kind(game, author, "type_answer")
    send(game, ann, text="=HYPERLINK(1)")
    services.end_game(game_id=game.id, user=author)
    [_, ann_row, _] = selectors.results_table(game=game)
    assert ann_row[4 + KINDS.index("type_answer")] == "'=HYPERLINK(1)"
