"""Whatever a client sends, every /api/ endpoint answers a JSON error with a reason, never a
server error or an HTML page, and what it refuses changes nothing."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quiz.game import services
from quiz.game.models import Answer, Game, Quiz
from tests.quiz.conftest import KINDS_QUIZ

HUGE_ID = 10**25


@pytest.fixture
def player() -> Client:
    """A browser that sees server errors as responses, as a real one does."""
    return Client(raise_request_exception=False)


@pytest.fixture
def typing_game(kinds_quiz: Quiz, author: User, player: Client) -> Game:
    """The every-kind quiz at its type-answer question, with `player` in it as Ann."""
    game = services.create_game(quiz=kinds_quiz, host=author)
    player.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    services.start_game(game_id=game.id, user=author)
    for _ in range([kind for kind, _, _ in KINDS_QUIZ].index("type_answer")):
        services.close_question(game_id=game.id, user=author)
        services.open_next_question(game_id=game.id, user=author)
    game.refresh_from_db()
    return game


def json_error(response) -> tuple[int, str]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    assert body["detail"]
    return response.status_code, body["error"]


def post_answer(player: Client, game: Game, body: bytes, **extra):
    return player.post(
        f"/api/games/{game.id}/answer/", body, content_type="application/json", **extra
    )


def test_json_nested_too_deep_is_400(player: Client, typing_game: Game) -> None:
    nested = b"[" * 50_000 + b"]" * 50_000
    assert json_error(post_answer(player, typing_game, nested)) == (400, "invalid_json")


def test_a_lone_surrogate_in_a_typed_answer_is_400_and_records_nothing(
    player: Client, typing_game: Game
) -> None:
    question_id = typing_game.current_question_id
    body = f'{{"question_id": {question_id}, "text": "Tokyo\\ud800"}}'.encode()
    assert json_error(post_answer(player, typing_game, body)) == (400, "invalid_json")
    assert not Answer.objects.filter(question_id=question_id).exists()


def test_a_body_over_the_upload_limit_is_413(player: Client, typing_game: Game) -> None:
    big = json.dumps({"question_id": 1, "text": "x" * 3_000_000}).encode()
    assert json_error(post_answer(player, typing_game, big)) == (413, "too_large")


@pytest.fixture
def browser() -> Client:
    """A browser that checks CSRF as the site does for real ones, with the CSRF cookie a
    page with a form gave it."""
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.get("/accounts/login/")
    return browser


def test_a_big_form_body_to_a_host_action_is_413(browser: Client, game: Game) -> None:
    """Refused before any view runs: the CSRF check reads a form body."""
    response = browser.post(
        f"/api/games/{game.id}/end/",
        b"a=" + b"x" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert json_error(response) == (413, "too_large")


def test_a_post_without_the_csrf_token_is_a_json_403(browser: Client, game: Game) -> None:
    response = browser.post(f"/api/games/{game.id}/end/", content_type="application/json")
    assert json_error(response) == (403, "csrf_failed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/games/{HUGE_ID}/snapshot/"),
        ("get", f"/api/games/{HUGE_ID}/token/"),
        ("post", f"/api/games/{HUGE_ID}/answer/"),
        ("post", f"/api/games/{HUGE_ID}/start/"),
        ("post", f"/api/games/{HUGE_ID}/leave/"),
        ("post", f"/api/games/1/players/{HUGE_ID}/kick/"),
    ],
)
def test_an_id_too_big_for_the_database_is_a_json_404(player: Client, method, path) -> None:
    response = getattr(player, method)(path, content_type="application/json")
    assert json_error(response) == (404, "not_found")


def test_an_unknown_api_address_is_a_json_404(player: Client, db) -> None:
    assert json_error(player.get("/api/no-such-thing/")) == (404, "not_found")


def test_pages_outside_the_api_keep_their_html_errors(player: Client, db) -> None:
    response = player.get(f"/play/{HUGE_ID}/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "body",
    [
        {"question_id": HUGE_ID, "text": "Tokyo"},
        {"question_id": "current", "choice_ids": [HUGE_ID]},
    ],
)
def test_numbers_too_big_for_the_database_in_an_answer_are_refused_in_json(
    player: Client, typing_game: Game, body: dict
) -> None:
    if body["question_id"] == "current":
        body = {**body, "question_id": typing_game.current_question_id}
    status, _ = json_error(post_answer(player, typing_game, json.dumps(body).encode()))
    assert 400 <= status < 500
