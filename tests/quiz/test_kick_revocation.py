"""A kick closes the kicked player's open broker connections within seconds, through the
broker's admin API (quiz.live.revocation), on the REAL broker: a page that ignores its kick
frame stops receiving the game while the other players' pages go on. And a kick stands when
that API cannot be reached."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from quiz import live
from quiz.game import services
from quiz.game.models import Game, Quiz
from quiz.live import revocation

# a kick cuts off after its transaction commits; the real publisher and broker admin API
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_publisher]

# Well under the tokens' 60 s: the connection ends because of the kick, not its token.
WAIT_SECONDS = 5.0


def stomp(command: str, **headers: str) -> str:
    lines = [command, *(f"{name}:{value}" for name, value in headers.items())]
    return "\n".join(lines) + "\n\n\x00"


@contextlib.contextmanager
def page_of(
    ws_url: str, game: Game, client: Client, *, login: str = ""
) -> Iterator[ClientConnection]:
    """What a player's page does on the broker: CONNECT with the token and login the site
    gave it (or another `login`, as a hostile client may), subscribe to the game's status
    topic."""
    token = client.get(f"/api/games/{game.id}/token/").json()
    with connect(ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        headers = {"accept-version": "1.2", "heart-beat": "0,0"}
        login = login or token["login"]
        ws.send(stomp("CONNECT", **headers, login=login, passcode=token["token"]))
        assert ws.recv(timeout=WAIT_SECONDS).startswith("CONNECTED")
        topic = f"/topic/games.{game.id}.status"
        queue = f"{token['queue_prefix']}test"  # on RabbitMQ, the page's way of naming it
        ws.send(
            stomp(
                "SUBSCRIBE",
                id="0",
                destination=topic,
                receipt="subscribed",
                **{"x-queue-name": queue},
            )
        )
        assert ws.recv(timeout=WAIT_SECONDS).startswith("RECEIPT")
        yield ws


def joined(game: Game, nickname: str) -> Client:
    client = Client()
    client.post("/join/", {"pin": game.pin, "nickname": nickname})
    return client


def frames_until_closed(ws: ClientConnection) -> list[str]:
    """Every frame until the broker closes the connection; TimeoutError if it stays open."""
    received = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            received.append(ws.recv(timeout=WAIT_SECONDS))
    return received


def frames_until_cut_off(ws: ClientConnection) -> list[str]:
    """Every frame until the broker closes the connection or sends an ERROR (RabbitMQ
    cancelling a subscription whose queue was deleted); TimeoutError if neither comes."""
    received = []
    with contextlib.suppress(ConnectionClosed):
        while not (received and received[-1].startswith("ERROR")):
            received.append(ws.recv(timeout=WAIT_SECONDS))
    return received


def next_message_type(ws: ClientConnection) -> str:
    while not (frame := ws.recv(timeout=WAIT_SECONDS)).startswith("MESSAGE"):
        pass
    return json.loads(frame.partition("\n\n")[2].partition("\x00")[0])["type"]


@pytest.fixture
def game(game_broker_settings, quiz: Quiz, author: User) -> Iterator[Game]:
    live.get_backend().close()
    yield services.create_game(quiz=quiz, host=author)
    live.get_backend().close()


def test_a_kick_closes_the_kicked_players_open_connection_at_once(
    game_broker_settings, game: Game, author: User
) -> None:
    ann, bob = joined(game, "Ann"), joined(game, "Bob")
    host = Client()
    host.force_login(author)
    with (
        page_of(game_broker_settings.ws_url, game, ann) as ann_page,
        page_of(game_broker_settings.ws_url, game, bob) as bob_page,
    ):
        ann_id = game.players.get(nickname="Ann").id
        assert host.post(f"/api/games/{game.id}/players/{ann_id}/kick/").status_code == 200
        frames_until_closed(ann_page)
        assert next_message_type(bob_page) == "player_kicked"
        host.post(f"/api/games/{game.id}/start/")
        assert next_message_type(bob_page) == "question_open"


def test_a_kick_cuts_off_a_client_of_the_player_under_a_made_up_login(
    game_broker_settings,
    game: Game,
    author: User,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client holding the player's token under another login is cut off (on RabbitMQ, by
    deleting its queue), and nothing is logged as failed though the player's own login has no
    connection and a listed queue is already gone when deleted (404 both: RabbitMQ deletes a
    closed page's queues while they may still be listed)."""
    listed = revocation._queue_names
    monkeypatch.setattr(
        revocation, "_queue_names", lambda prefix: [f"{prefix}gone", *listed(prefix)]
    )
    ann = joined(game, "Ann")
    with (
        page_of(game_broker_settings.ws_url, game, ann, login="made-up") as hostile,
        caplog.at_level(logging.WARNING, logger="quiz.live.revocation"),
    ):
        services.kick_player(game_id=game.id, player_id=game.players.get().id, user=author)
        frames_until_cut_off(hostile)
    assert caplog.text == ""


def test_the_kicked_page_is_told_why_on_our_broker(
    game_broker_settings, game: Game, author: User
) -> None:
    if os.environ.get("QUIZ_TEST_BROKER") == "rabbitmq":
        pytest.skip("RabbitMQ 3.10's Web-STOMP closes without the ERROR frame (#6737)")
    ann = joined(game, "Ann")
    with page_of(game_broker_settings.ws_url, game, ann) as ann_page:
        services.kick_player(game_id=game.id, player_id=game.players.get().id, user=author)
        *_, error = frames_until_closed(ann_page)
    command, body = error.partition("\n")[0], error.partition("\n\n")[2]
    assert (command, body) == (
        "ERROR",
        "closed by an administrator: kicked from the game by its host\n\x00",
    )


def test_a_kick_stands_when_the_broker_cannot_be_reached(
    game: Game, author: User, settings, caplog: pytest.LogCaptureFixture
) -> None:
    joined(game, "Ann")
    with socket.socket() as unreachable:  # bound, never listening: connections are refused
        unreachable.bind(("127.0.0.1", 0))
        settings.STOMP_ADMIN_URL = f"http://127.0.0.1:{unreachable.getsockname()[1]}"
        with caplog.at_level(logging.WARNING, logger="quiz.live.revocation"):
            services.kick_player(game_id=game.id, player_id=game.players.get().id, user=author)
    assert game.players.get().kicked
    assert "Could not cut player:" in caplog.text
