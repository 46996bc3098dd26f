"""The game on the RabbitMQ that `make services` runs: the same frames as on our broker, and
each page held to its own game by the token Django issues, through RabbitMQ's own checks (its
OAuth 2.0 backend reading the token's scopes).

What a refusal looks like there: RabbitMQ's STOMP plugin sends an ERROR frame
`message:access_refused` and closes the connection, but its Web-STOMP endpoint (3.10) closes the
WebSocket before that frame leaves (rabbitmq/rabbitmq-server#6737). So a page sees no RECEIPT
and the WebSocket closed with 1000 "STOMP died"; the ERROR itself shows over STOMP/TCP (and in
RabbitMQ's log), which the last tests read."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import jwt
import pytest
from browser import (
    Browser,
    Frame,
    connect_frame,
    open_browser,
    over_tcp,
    send_frame,
    subscribe_frame,
)
from django.contrib.auth.models import User
from django.test import Client
from scripted_game import assert_frames_of_the_scripted_game, play_and_watch

from quiz import live
from quiz.game import services
from quiz.game.models import Game, Quiz
from quiz.live import tokens

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_BY_REFUSAL = (1000, "STOMP died")


def test_scripted_game_publishes_the_same_frames_as_on_our_broker(
    rabbitmq_settings, quiz, author
) -> None:
    frames = play_and_watch(rabbitmq_settings, quiz=quiz, author=author)
    assert_frames_of_the_scripted_game(frames)


@pytest.fixture
def game_a(rabbitmq_settings, quiz: Quiz, author: User) -> Iterator[Game]:
    live.get_backend().close()
    yield services.create_game(quiz=quiz, host=author)
    live.get_backend().close()


@pytest.fixture
def game_b(game_a: Game, quiz: Quiz, author: User) -> Game:
    return services.create_game(quiz=quiz, host=author)


@pytest.fixture
def token_a(game_a: Game) -> str:
    """The token Django gives Ann, a player of game A, for her page."""
    ann = Client()
    ann.post("/join/", {"pin": game_a.pin, "nickname": "Ann"})
    return ann.get(f"/api/games/{game_a.id}/token/").json()["token"]


@pytest.fixture
def queue_a(token_a: str) -> str:
    """A queue name Ann's token may subscribe through: one named for her, as her page does."""
    subject = jwt.decode(token_a, options={"verify_signature": False})["sub"]
    return f"{tokens.queue_prefix(subject)}test"


def test_page_receives_its_own_games_frames(
    rabbitmq_settings, game_a: Game, token_a: str, queue_a: str, author: User
) -> None:
    with open_browser(rabbitmq_settings.ws_url, login="token", passcode=token_a) as (page, _):
        page.send(subscribe_frame(f"/topic/games.{game_a.id}.status", queue_a))
        assert page.receive().command == "RECEIPT"
        host = Client()
        host.force_login(author)
        host.post(f"/api/games/{game_a.id}/start/")
        frame = page.receive()
    assert (frame.command, json.loads(frame.body)["type"]) == ("MESSAGE", "question_open")


def test_page_is_refused_another_games_topic(
    rabbitmq_settings, game_a: Game, game_b: Game, token_a: str, queue_a: str
) -> None:
    with open_browser(rabbitmq_settings.ws_url, login="token", passcode=token_a) as (page, _):
        page.send(subscribe_frame(f"/topic/games.{game_a.id}.status", f"{queue_a}-a"))
        assert page.receive().command == "RECEIPT"  # the token itself is good
        page.send(subscribe_frame(f"/topic/games.{game_b.id}.status", f"{queue_a}-b"))
        assert page.receive() is None
        assert page.close_reason() == CLOSED_BY_REFUSAL


def test_page_cannot_publish_to_its_own_games_topic(
    rabbitmq_settings, game_a: Game, token_a: str, queue_a: str
) -> None:
    topic = f"/topic/games.{game_a.id}.status"
    forged = json.dumps({"type": "finished", "version": 999, "data": {}})
    url = rabbitmq_settings.ws_url
    with (
        open_browser(url, login="token", passcode=token_a) as (reader, _),
        open_browser(url, login="token", passcode=token_a) as (forger, _),
    ):
        reader.send(subscribe_frame(topic, queue_a))
        assert reader.receive().command == "RECEIPT"
        forger.send(send_frame(topic, forged))
        assert forger.receive() is None
        assert forger.close_reason() == CLOSED_BY_REFUSAL
        assert reader.receive(timeout=1.0) is None and reader.close_reason() is None


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        # No topic scope for game B's routing key, checked when the subscription queue is bound.
        (
            "subscribe to game B",
            "access to topic 'games.{b}.status' in exchange 'amq.topic'"
            " in vhost '/' refused for user 'player:",
        ),
        # The token writes to amq.topic with one routing key only, its player's answer topic
        # (answers.<game>.<player>): the game's own topic is refused by topic authorisation.
        (
            "publish to game A",
            "ACCESS_REFUSED - access to topic 'games.{a}.status' in exchange 'amq.topic'"
            " in vhost '/' refused for user 'player:",
        ),
    ],
)
def test_refusals_say_why_over_stomp_tcp(
    rabbitmq_settings,
    game_a: Game,
    game_b: Game,
    token_a: str,
    queue_a: str,
    action: str,
    reason: str,
) -> None:
    frame = (
        subscribe_frame(f"/topic/games.{game_b.id}.status", queue_a)
        if action.startswith("sub")
        else send_frame(f"/topic/games.{game_a.id}.status", "{}")
    )
    address = (rabbitmq_settings.tcp_host, rabbitmq_settings.tcp_port)
    # (A RECEIPT may follow the ERROR, before RabbitMQ closes the connection.)
    connected, refused, *_ = over_tcp(address, connect_frame("token", token_a), frame)
    assert connected.command == "CONNECTED"
    assert (refused.command, refused.headers["message"]) == ("ERROR", "access_refused")
    assert reason.format(a=game_a.id, b=game_b.id) in refused.body


def test_page_without_a_token_is_refused(rabbitmq_settings) -> None:
    # `make services` turns off the STOMP plugin's default user (guest), which would otherwise
    # log in a CONNECT that carries no credentials.
    with open_browser(rabbitmq_settings.ws_url, login="", passcode="") as (_, answer):
        assert (answer.command, answer.headers["message"]) == ("ERROR", "Bad CONNECT")


def page_token(game: Game, nickname: str) -> dict[str, str]:
    """The token and login Django gives a player's page (its login is the player's own)."""
    client = Client()
    client.post("/join/", {"pin": game.pin, "nickname": nickname})
    return client.get(f"/api/games/{game.id}/token/").json()


def kick(game: Game, author: User, nickname: str) -> None:
    player = game.players.get(nickname=nickname)
    services.kick_player(game_id=game.id, player_id=player.id, user=author)


def test_a_kicked_players_open_page_stops_receiving_within_seconds(
    rabbitmq_settings, game_a: Game, author: User
) -> None:
    """Through the management API the kick calls: RabbitMQ ends the connection at once,
    though the token in it would be good for another minute (and RabbitMQ 3.10 would not
    end it even then)."""
    ann, bob = page_token(game_a, "Ann"), page_token(game_a, "Bob")
    topic = f"/topic/games.{game_a.id}.status"
    url = rabbitmq_settings.ws_url
    with (
        open_browser(url, login=ann["login"], passcode=ann["token"]) as (ann_page, _),
        open_browser(url, login=bob["login"], passcode=bob["token"]) as (bob_page, _),
    ):
        for page, token in ((ann_page, ann), (bob_page, bob)):
            page.send(subscribe_frame(topic, f"{token['queue_prefix']}page"))
            assert page.receive().command == "RECEIPT"
        kick(game_a, author, "Ann")
        while ann_page.receive() is not None:  # the kick frame, then the end
            pass
        assert ann_page.close_reason() == CLOSED_BY_REFUSAL
        assert json.loads(bob_page.receive().body)["type"] == "player_kicked"
        services.start_game(game_id=game_a.id, user=author)
        assert json.loads(bob_page.receive().body)["type"] == "question_open"


def until_cancelled(page: Browser, timeout: float = 5.0) -> Frame | None:
    """Frames until RabbitMQ's ERROR for a subscription it cancelled (its queue was deleted);
    None if none comes within `timeout` of the last frame."""
    while (frame := page.receive(timeout)) is not None:
        if frame.command == "ERROR":
            return frame
    return None


@contextlib.contextmanager
def made_up_login(
    ws_url: str, game: Game, nickname: str
) -> Iterator[tuple[Browser, dict[str, str]]]:
    """A hostile client: `nickname`'s token under a login of its own making, subscribed to the
    game's status topic through one of the player's queues (all its token allows)."""
    token = page_token(game, nickname)
    with open_browser(ws_url, login="made-up", passcode=token["token"]) as (page, _):
        page.send(subscribe_frame(f"/topic/games.{game.id}.status", f"{token['queue_prefix']}1"))
        assert page.receive().command == "RECEIPT"
        yield page, token


def test_a_kicked_client_under_a_made_up_login_loses_its_subscriptions(
    rabbitmq_settings, game_a: Game, author: User
) -> None:
    """RabbitMQ names a connection after its CONNECT login, so closing the player's user misses
    a client that makes one up; but its token subscribes only through queues named for the
    player, and the kick deletes those."""
    with made_up_login(rabbitmq_settings.ws_url, game_a, "Ann") as (page, _):
        kick(game_a, author, "Ann")
        cancelled = until_cancelled(page)
        assert cancelled is not None
        assert cancelled.headers["message"] == "Server cancelled subscription"
        services.start_game(game_id=game_a.id, user=author)
        assert page.receive(timeout=2.0) is None


def test_a_kicked_client_that_subscribes_again_is_cut_off_once_its_token_expires(
    rabbitmq_settings, game_a: Game, author: User, settings
) -> None:
    """Its token still lets it subscribe again for a while after the kick (until it expires,
    and RabbitMQ 3.10 would then serve that subscription for ever): the kick's second pass,
    once the player's last token has expired, deletes that one too, and nothing can come
    back."""
    settings.STOMP_TOKEN_TTL_SECONDS = 5
    topic = f"/topic/games.{game_a.id}.status"
    with made_up_login(rabbitmq_settings.ws_url, game_a, "Ann") as (page, ann):
        kick(game_a, author, "Ann")
        assert until_cancelled(page) is not None
        page.send(subscribe_frame(topic, f"{ann['queue_prefix']}2"))
        assert page.receive().command == "RECEIPT"
        # the second pass: the token's 5 s, revocation.AFTER_EXPIRY_SECONDS, and some slack
        assert until_cancelled(page, timeout=15.0) is not None
        page.send(subscribe_frame(topic, f"{ann['queue_prefix']}late"))
        assert page.receive() is None and page.close_reason() == CLOSED_BY_REFUSAL
