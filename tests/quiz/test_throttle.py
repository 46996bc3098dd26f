"""Guessing PINs, flooding a game with players and guessing passwords are throttled per
client; the refusal says so. Each test uses its own client address, so counts from other
tests (kept in the database cache) cannot reach it."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quiz.game import services
from quiz.game.models import Game


def form_error(content: bytes) -> str:
    return re.search(r'role="alert">([^<]*)<', content.decode()).group(1)


def unknown_pin(game: Game) -> str:
    return "000000" if game.pin != "000000" else "111111"


def test_an_unknown_pin_and_a_finished_game_get_the_same_answer(
    client: Client, game: Game, author: User, quiz
) -> None:
    unknown = client.post("/join/", {"pin": unknown_pin(game), "nickname": "Ann"})
    services.end_game(game_id=game.id, user=author)
    finished = client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert (finished.status_code, form_error(finished.content)) == (
        unknown.status_code,
        form_error(unknown.content),
    )


def test_pin_guesses_beyond_the_limit_get_429_with_a_message_on_the_form(
    client: Client, game: Game, settings
) -> None:
    """The browser's first try comes from the static form, with no id: its address counts
    it; the answer gives it its id, and its own limit counts the next three."""
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 3
    address = {"REMOTE_ADDR": "198.51.100.1"}
    statuses = [
        client.post("/join/", {"pin": unknown_pin(game), "nickname": "Ann"}, **address).status_code
        for _ in range(5)
    ]
    assert statuses == [404, 404, 404, 404, 429]
    refused = client.post("/join/", {"pin": game.pin, "nickname": "Ann"}, **address)
    assert refused.status_code == 429
    assert b"Too many tries from this device" in refused.content


def test_pin_guesses_of_one_client_do_not_stop_another(
    client: Client, game: Game, settings
) -> None:
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 2
    for _ in range(3):
        client.post(
            "/join/", {"pin": unknown_pin(game), "nickname": "Ann"}, REMOTE_ADDR="198.51.100.2"
        )
    other = Client().post(
        "/join/", {"pin": game.pin, "nickname": "Ann"}, REMOTE_ADDR="198.51.100.3"
    )
    assert other.status_code == 200


def test_joins_from_one_client_beyond_the_limit_get_429(game: Game, settings) -> None:
    settings.QUIZ_JOINS_PER_MINUTE = 3
    statuses = [
        Client()
        .post("/join/", {"pin": game.pin, "nickname": f"P{i}"}, REMOTE_ADDR="198.51.100.4")
        .status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert game.players.count() == 3


def browser(address: str) -> Client:
    """A phone's browser behind `address` that has opened the join form at the site's root
    (a static page: it gives no id; the browser's first join is told apart by its address
    only)."""
    client = Client(REMOTE_ADDR=address)
    assert "quiz_client" not in client.get("/").cookies
    return client


def test_wrong_pins_of_one_browser_do_not_stop_its_classmates_behind_the_same_address(
    game: Game, settings
) -> None:
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 3
    pupil = browser("198.51.100.8")
    statuses = [
        pupil.post("/join/", {"pin": unknown_pin(game), "nickname": "P"}).status_code
        for _ in range(5)
    ]
    assert statuses == [404, 404, 404, 404, 429]
    classmate = browser("198.51.100.8").post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert classmate.status_code == 200


def test_a_typo_on_each_phones_first_try_does_not_stop_the_phones_behind_its_address(
    game: Game, settings
) -> None:
    """A first try has no id yet: it counts against its address's limit, not a browser's."""
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 1
    for _ in range(3):
        typo = browser("198.51.100.10").post("/join/", {"pin": unknown_pin(game), "nickname": "P"})
        assert typo.status_code == 404
    joined = browser("198.51.100.10").post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert joined.status_code == 200


def test_wrong_pins_from_one_address_are_bounded_however_many_browsers_send_them(
    game: Game, settings
) -> None:
    """A guesser who starts a fresh browser for every few guesses still meets the address's
    limit, set high enough for a lecture hall's typos."""
    settings.QUIZ_PIN_GUESSES_PER_MINUTE = 3
    settings.QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE = 5
    statuses = [
        browser("198.51.100.9").post("/join/", {"pin": unknown_pin(game), "nickname": "P"})
        for _ in range(6)
    ]
    assert [response.status_code for response in statuses] == [404] * 5 + [429]


def test_a_lecture_hall_behind_one_address_joins_within_a_minute(fresh_settings) -> None:
    """300 players behind one address, with room for some to join twice, and their typos."""
    joins = fresh_settings("QUIZ_JOINS_PER_MINUTE")
    guesses = fresh_settings("QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE")
    assert int(joins.stdout) >= 600, joins.stderr
    assert int(guesses.stdout) >= 200, guesses.stderr


@pytest.fixture
def login_client() -> Client:
    return Client(REMOTE_ADDR="198.51.100.5")


def test_logins_are_locked_out_after_repeated_failures_with_a_message(
    login_client: Client, author: User, settings
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [
        login_client.post(
            "/accounts/login/", {"username": "author", "password": "wrong"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [200, 200] and statuses[2] == 429
    locked = login_client.post("/accounts/login/", {"username": "author", "password": "pw-123456"})
    assert locked.status_code == 429
    assert b"Too many failed logins to this account" in locked.content


def test_a_good_login_to_another_account_resets_none_of_the_victims_failures(
    author: User, settings
) -> None:
    """The bypass found in review: wrong guesses at the victim, each pair followed by a
    good login to one's own account from the same address, until the limit is reached."""
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("guesser", password="pw-guesser-1")
    address = {"REMOTE_ADDR": "198.51.100.6"}
    for _ in range(3):
        for _ in range(2):
            Client().post("/accounts/login/", {"username": "author", "password": "x"}, **address)
        own = Client().post(
            "/accounts/login/", {"username": "guesser", "password": "pw-guesser-1"}, **address
        )
        assert own.status_code == 302
    guess = Client().post("/accounts/login/", {"username": "author", "password": "y"}, **address)
    assert guess.status_code == 429


def test_failed_logins_at_one_account_do_not_lock_another_out_behind_the_same_address(
    author: User, settings
) -> None:
    """A pupil behind the school's address mistypes their password: the teacher, behind the
    same address, still logs in."""
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("pupil", password="pw-pupil-12")
    address = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(4):
        Client().post("/accounts/login/", {"username": "pupil", "password": "x"}, **address)
    teacher = Client().post(
        "/accounts/login/", {"username": "author", "password": "pw-123456"}, **address
    )
    assert teacher.status_code == 302
