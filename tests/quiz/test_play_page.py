"""/play/<id>/ shows a game to its players only: game ids are sequential, so the page must
give nobody else the PIN, nor tell them which ids are games."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quiz.game import services
from quiz.game.models import Game

# what differs from one response to the next whatever the game: the CSRF token, the CSP nonce
PER_RESPONSE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"|nonce="[^"]*"')


def join(client: Client, game: Game) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})


def kick(client: Client, game: Game) -> None:
    join(client, game)
    services.kick_player(game_id=game.id, player_id=game.players.get().id, user=game.host)


def leave(client: Client, game: Game) -> None:
    join(client, game)
    client.post(f"/api/games/{game.id}/leave/", content_type="application/json")


@pytest.mark.parametrize(
    "visitor", [lambda client, game: None, kick, leave], ids=["stranger", "kicked", "left"]
)
def test_the_play_page_never_shows_the_pin_to_someone_not_in_the_game(
    client: Client, game: Game, visitor
) -> None:
    visitor(client, game)
    response = client.get(f"/play/{game.id}/")
    assert response.status_code in (403, 404)
    assert game.pin not in response.content.decode()


def test_a_stranger_gets_the_same_page_for_a_game_as_for_no_game(client: Client, game: Game):
    def page(game_id: int) -> tuple[int, str]:
        response = client.get(f"/play/{game_id}/")
        return response.status_code, PER_RESPONSE.sub("", response.content.decode())

    assert page(game.id) == page(game.id + 1000)


def test_a_joined_player_reloading_the_play_page_gets_the_game(client: Client, game: Game):
    join(client, game)
    response = client.get(f"/play/{game.id}/")
    assert response.status_code == 200 and f'"pin": "{game.pin}"' in response.content.decode()


def test_the_host_opening_the_play_page_is_sent_to_the_host_screen(
    client: Client, game: Game, author: User
) -> None:
    client.force_login(author)
    response = client.get(f"/play/{game.id}/")
    assert (response.status_code, response["Location"]) == (302, f"/games/{game.id}/host/")
