"""A kicked player stays out: not back from the same browser under another nickname, nor
under the same nickname from anywhere, nor (when the host asks) from the same address, and no
new broker token for the old page. Classmates behind the same address are not barred."""

import jwt
import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client

from quiz import live
from quiz.game import services
from quiz.game.models import Game

ADDRESS = {"REMOTE_ADDR": "198.51.100.20"}


def join(client: Client, game: Game, nickname: str, **extra: str):
    return client.post("/join/", {"pin": game.pin, "nickname": nickname}, **extra)


def kick(game: Game, author: User, nickname: str) -> None:
    player = game.players.get(nickname=nickname)
    services.kick_player(game_id=game.id, player_id=player.id, user=author)


def test_a_kicked_browser_cannot_rejoin_under_another_nickname(game: Game, author: User) -> None:
    browser = Client()
    join(browser, game, "Ann", REMOTE_ADDR="198.51.100.21")
    kick(game, author, "Ann")
    again = join(browser, game, "Anne", REMOTE_ADDR="198.51.100.22")
    assert again.status_code == 403
    assert b"The host removed you from this game." in again.content
    assert not game.players.filter(nickname="Anne").exists()


def test_a_kicked_nickname_cannot_rejoin_from_a_fresh_browser_elsewhere(
    game: Game, author: User
) -> None:
    join(Client(), game, "Ann", REMOTE_ADDR="198.51.100.40")
    kick(game, author, "Ann")
    again = join(Client(), game, "ＡＮＮ", REMOTE_ADDR="198.51.100.41")
    assert again.status_code == 403
    assert b"The host removed you from this game." in again.content


def test_a_kick_bars_nobody_else_behind_the_same_address(game: Game, author: User) -> None:
    """A class behind its school's one address: the kicked pupil's classmates still join."""
    join(Client(), game, "Ann", **ADDRESS)
    kick(game, author, "Ann")
    assert join(Client(), game, "Bob", **ADDRESS).status_code == 200


def kick_over_http(game: Game, author: User, nickname: str, body: object) -> HttpResponse:
    host = Client()
    host.force_login(author)
    player = game.players.get(nickname=nickname)
    return host.post(
        f"/api/games/{game.id}/players/{player.id}/kick/", body, content_type="application/json"
    )


def test_the_host_may_bar_the_kicked_players_address_too(game: Game, author: User) -> None:
    join(Client(), game, "Ann", REMOTE_ADDR="198.51.100.25")
    assert kick_over_http(game, author, "Ann", {"ban_address": True}).status_code == 200
    again = join(Client(), game, "Anne", REMOTE_ADDR="198.51.100.25")
    assert again.status_code == 403
    assert b"The host removed you from this game." in again.content


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ban_address": "yes"}, "invalid_input"),
        ({"ban_address": 1}, "invalid_input"),
        ([], "invalid_json"),
    ],
)
def test_a_kick_with_a_malformed_body_is_400_and_kicks_nobody(
    game: Game, author: User, body: object, error: str
) -> None:
    join(Client(), game, "Ann", REMOTE_ADDR="198.51.100.28")
    refused = kick_over_http(game, author, "Ann", body)
    assert (refused.status_code, refused.json()["error"]) == (400, error)
    assert not game.players.get(nickname="Ann").kicked


def test_address_bans_can_be_turned_off_for_sites_behind_a_proxy(
    game: Game, author: User, settings
) -> None:
    """Behind a proxy that hides the clients' addresses, one address ban would bar everyone:
    the host asking for one is refused, and nobody is kicked."""
    settings.QUIZ_BAN_BY_ADDRESS = False
    join(Client(), game, "Ann", REMOTE_ADDR="198.51.100.29")
    refused = kick_over_http(game, author, "Ann", {"ban_address": True})
    assert (refused.status_code, refused.json()["error"]) == (400, "address_bans_off")
    assert not game.players.get(nickname="Ann").kicked


def test_a_kicked_player_is_refused_a_new_broker_token(game: Game, author: User) -> None:
    browser = Client()
    join(browser, game, "Ann", REMOTE_ADDR="198.51.100.26")
    assert browser.get(f"/api/games/{game.id}/token/").status_code == 200
    kick(game, author, "Ann")
    refused = browser.get(f"/api/games/{game.id}/token/")
    assert (refused.status_code, refused.json()["error"]) == (403, "kicked")


def test_browser_tokens_live_as_long_as_the_settings_say(game: Game, settings) -> None:
    """An hour by default on our broker (tests/quiz/test_token_lifetime.py)."""
    settings.STOMP_TOKEN_TTL_SECONDS = 1234
    browser = Client()
    join(browser, game, "Ann", REMOTE_ADDR="198.51.100.27")
    assert browser.get(f"/api/games/{game.id}/token/").json()["expires_in"] == 1234


def test_a_peer_address_the_database_cannot_store_joins_without_one(game: Game) -> None:
    assert join(Client(), game, "Ann", REMOTE_ADDR="not-an-address").status_code == 200
    assert game.players.get(nickname="Ann").address is None


def test_each_players_token_names_its_own_broker_user(game: Game) -> None:
    """The user a kick closes on the broker: the token's subject (our broker's name for the
    connection) and the login the page sends (RabbitMQ's), one per player."""
    tokens = []
    for index, nickname in enumerate(("Ann", "Bob")):
        browser = Client()
        join(browser, game, nickname, REMOTE_ADDR=f"198.51.100.{30 + index}")
        tokens.append(browser.get(f"/api/games/{game.id}/token/").json())
    subjects = [jwt.decode(t["token"], options={"verify_signature": False})["sub"] for t in tokens]
    assert [t["login"] for t in tokens] == subjects
    assert subjects == [f"player:{p.id}" for p in game.players.order_by("id")]


def test_a_committed_kick_cuts_the_player_off_the_broker(
    game: Game, author: User, django_capture_on_commit_callbacks
) -> None:
    join(Client(), game, "Ann", REMOTE_ADDR="198.51.100.25")
    ann = game.players.get(nickname="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        kick(game, author, "Ann")
    assert live.get_backend().cut_offs == [
        {
            "login": f"player:{ann.id}",
            "queue_prefix": f"stomp-subscription-player-{ann.id}-",
            "reason": "kicked from the game by its host",
        }
    ]
