"""A scripted game through the views, watched on the REAL broker by a stomp.py subscriber."""

import os

import pytest
from scripted_game import assert_frames_of_the_scripted_game, play_and_watch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.real_publisher
def test_scripted_game_publishes_frames_in_order(game_broker_settings, quiz, author) -> None:
    frames = play_and_watch(game_broker_settings, quiz=quiz, author=author)
    assert_frames_of_the_scripted_game(frames)


def stomp(command: str, **headers: str) -> str:
    lines = [command, *(f"{name}:{value}" for name, value in headers.items())]
    return "\n".join(lines) + "\n\n\x00"


@pytest.mark.xfail(
    os.environ.get("QUIZ_TEST_BROKER") == "rabbitmq",
    strict=True,
    reason=(
        "RabbitMQ 3.10's Web-STOMP keeps serving a connection past its token's expiry (seen "
        "here): there the kick's revocation cuts it off instead (tests/rabbitmq)"
    ),
)
@pytest.mark.real_publisher
def test_the_broker_stops_serving_a_kicked_players_page_when_its_token_expires(
    game_broker_settings, settings, quiz, author
) -> None:
    """A page that ignores its kick and never renews its token: the broker ends its
    connection when the token runs out, and the server gives it no new one."""
    from django.test import Client
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from quiz.game import publisher, services

    game_broker = game_broker_settings
    settings.STOMP_TOKEN_TTL_SECONDS = 2
    publisher.PUBLISHER.close()
    game = services.create_game(quiz=quiz, host=author)
    ann = Client()
    ann.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    token = ann.get(f"/api/games/{game.id}/token/").json()
    with connect(game_broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(
            stomp(
                "CONNECT",
                **{
                    "accept-version": "1.2",
                    "heart-beat": "0,0",
                    "login": "token",
                    "passcode": token["token"],
                },
            )
        )
        assert ws.recv(timeout=5).startswith("CONNECTED")
        ws.send(
            stomp(
                "SUBSCRIBE",
                id="0",
                destination=f"/topic/games.{game.id}.status",
                receipt="subscribed",
                **{"x-queue-name": f"{token['queue_prefix']}test"},
            )
        )
        assert ws.recv(timeout=5).startswith("RECEIPT")
        services.kick_player(game_id=game.id, player_id=game.players.get().id, user=author)
        assert ann.get(f"/api/games/{game.id}/token/").status_code == 403
        with pytest.raises(ConnectionClosed):
            while True:  # the kick frame, then the end of the connection
                ws.recv(timeout=settings.STOMP_TOKEN_TTL_SECONDS + 5)
    publisher.PUBLISHER.close()


@pytest.mark.real_publisher
def test_host_action_replies_say_the_broker_is_up(game_broker_settings, quiz, author) -> None:
    from django.test import Client

    from quiz.game import publisher, services

    publisher.PUBLISHER.close()
    game = services.create_game(quiz=quiz, host=author)
    host = Client()
    host.force_login(author)
    assert host.post(f"/api/games/{game.id}/start/").json()["broker"] == "up"
    publisher.PUBLISHER.close()
