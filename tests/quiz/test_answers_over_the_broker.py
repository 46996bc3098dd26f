"""Answers sent over the broker, as play.js sends them, on the REAL broker (ours, or RabbitMQ
with QUIZ_TEST_BROKER=rabbitmq): the page SENDs to its own answer topic with a receipt, and
the site's consumer (quiz.live.answers) records it with the same rules as a POSTed answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from quiz.game import services
from quiz.game.models import Answer, Game, Player
from quiz.live import frames
from quiz.live.answers import AnswerConsumer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_publisher]

WAIT_SECONDS = 15


def stomp(command: str, body: str = "", **headers: str) -> str:
    lines = [command, *(f"{name}:{value}" for name, value in headers.items())]
    return "\n".join(lines) + "\n\n" + body + "\x00"


@pytest.fixture
def consumer(game_broker_settings, settings) -> Iterator[AnswerConsumer]:
    """The consumer every serving process runs (quiz/wsgi.py), on the test's broker."""
    settings.QUIZ_LEAD_IN_MS = 0
    answers = AnswerConsumer()
    answers.start()
    yield answers
    answers.stop()


@pytest.fixture
def joined(consumer, quiz, author) -> tuple[Game, dict[str, Client]]:
    """A game with Ann and Bob in it, each a browser; its first question open."""
    game = services.create_game(quiz=quiz, host=author)
    browsers = {name: Client() for name in ("Ann", "Bob")}
    for name, browser in browsers.items():
        assert browser.post("/join/", {"pin": game.pin, "nickname": name}).status_code == 200
    services.start_game(game_id=game.id, user=author)
    return Game.objects.get(pk=game.id), browsers


@contextmanager
def page(ws_url: str, token: dict) -> Iterator[ClientConnection]:
    """A page's STOMP-over-WebSocket connection, logged in with its token."""
    with connect(ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        login = {"accept-version": "1.2", "heart-beat": "0,0", "login": token["login"]}
        ws.send(stomp("CONNECT", **login, passcode=token["token"]))
        assert ws.recv(timeout=5).startswith("CONNECTED")
        yield ws


def config_of(browser: Client, game: Game) -> dict:
    """The game_config play.html gives the page."""
    html = browser.get(f"/play/{game.id}/").content.decode()
    return json.loads(html.split('id="game-config" type="application/json">')[1].split("<")[0])


def send_answer(ws: ClientConnection, topic: str, body: dict, receipt: str = "a-1") -> str:
    """SEND as connection.js does; the broker's reply (a RECEIPT, or an ERROR)."""
    ws.send(stomp("SEND", json.dumps(body), destination=topic, receipt=receipt,
                  persistent="true", **{"content-type": "application/json"}))  # fmt: skip
    return ws.recv(timeout=5)


def eventually(check: Callable[[], bool]) -> bool:
    """Whether `check` holds within WAIT_SECONDS: the consumer records in its own thread."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def choice_of(game: Game, *, correct: bool) -> int:
    return game.current_question.choices.filter(is_correct=correct).first().id


def test_an_answer_sent_over_the_broker_is_recorded_with_the_pages_reaction_time(
    joined,
) -> None:
    game, browsers = joined
    config = config_of(browsers["Ann"], game)
    body = {"question_id": game.current_question_id, "choice_ids": [choice_of(game, correct=True)],
            "reaction_ms": 1}  # fmt: skip
    with page(config["ws_url"], config["token"]) as ws:
        assert send_answer(ws, config["answer_topic"], body).startswith("RECEIPT")
    assert eventually(lambda: Answer.objects.filter(player__nickname="Ann").exists())
    answer = Answer.objects.get(player__nickname="Ann")
    assert answer.question_id == game.current_question_id
    assert answer.response_ms <= 1 + services.settings.QUIZ_DELIVERY_ALLOWANCE_MS


def test_a_page_cannot_answer_for_another_player(joined) -> None:
    """Bob's token writes to Bob's answer topic only: his SEND to Ann's is refused (an ERROR
    from ours; RabbitMQ closes the connection), so the answer recorded for Ann is her own."""
    game, browsers = joined
    ann = Player.objects.get(game=game, nickname="Ann")
    anns_topic = frames.answer_topic(game_id=game.id, player_id=ann.id)
    forged = {"question_id": game.current_question_id,
              "choice_ids": [choice_of(game, correct=False)]}  # fmt: skip
    bob = config_of(browsers["Bob"], game)
    with page(bob["ws_url"], bob["token"]) as ws:
        try:
            assert send_answer(ws, anns_topic, forged).startswith("ERROR")
        except ConnectionClosed:
            pass
    own = {**forged, "choice_ids": [choice_of(game, correct=True)]}
    config = config_of(browsers["Ann"], game)
    with page(config["ws_url"], config["token"]) as ws:
        assert send_answer(ws, anns_topic, own).startswith("RECEIPT")
    assert eventually(lambda: Answer.objects.filter(player=ann).exists())
    assert (
        list(Answer.objects.get(player=ann).choices.values_list("id", flat=True))
        == (own["choice_ids"])
    )


def test_a_page_cannot_read_another_players_answers(joined) -> None:
    """A SUBSCRIBE to Ann's answer topic is refused (an ERROR from ours; RabbitMQ closes the
    connection)."""
    game, browsers = joined
    ann = Player.objects.get(game=game, nickname="Ann")
    config = config_of(browsers["Bob"], game)
    topic = frames.answer_topic(game_id=game.id, player_id=ann.id)
    with page(config["ws_url"], config["token"]) as ws:
        headers = {"x-queue-name": f"{config['token']['queue_prefix']}spy"}
        ws.send(stomp("SUBSCRIBE", id="spy", destination=topic, receipt="r", **headers))
        try:
            assert ws.recv(timeout=5).startswith("ERROR")
        except ConnectionClosed:
            pass


def test_a_bad_answer_is_dropped_and_the_next_one_still_recorded(joined, consumer) -> None:
    """Not JSON, then a choice of no question, then a good one: the consumer says why it
    dropped the first two and records the third."""
    game, browsers = joined
    config = config_of(browsers["Ann"], game)
    topic = config["answer_topic"]
    good = {"question_id": game.current_question_id, "choice_ids": [choice_of(game, correct=True)]}
    with page(config["ws_url"], config["token"]) as ws:
        ws.send(stomp("SEND", "not json", destination=topic))
        assert send_answer(ws, topic, {**good, "choice_ids": [10**9]}, "bad").startswith("RECEIPT")
        assert send_answer(ws, topic, good, "good").startswith("RECEIPT")
    assert eventually(lambda: Answer.objects.filter(player__nickname="Ann").exists())
    assert eventually(lambda: consumer.refused["invalid_json"] == 1)
    assert consumer.refused["invalid_choice"] == 1


def test_an_answer_to_a_closed_question_is_refused_and_the_page_hears_why(
    joined, consumer, author
) -> None:
    game, browsers = joined
    config = config_of(browsers["Ann"], game)
    services.close_question(game_id=game.id, user=author)
    body = {"question_id": game.current_question_id, "choice_ids": [choice_of(game, correct=True)]}
    with page(config["ws_url"], config["token"]) as ws:
        queue = {"x-queue-name": f"{config['token']['queue_prefix']}replies"}
        ws.send(stomp("SUBSCRIBE", id="r", destination=config["replies"], receipt="s", **queue))
        assert ws.recv(timeout=5).startswith("RECEIPT")
        assert send_answer(ws, config["answer_topic"], body).startswith("RECEIPT")
        reply = ws.recv(timeout=WAIT_SECONDS)
    assert reply.startswith("MESSAGE")
    frame = json.loads(reply.split("\n\n", 1)[1].split("\x00")[0])
    assert (frame["type"], frame["data"]["error"]) == ("answer_refused", "question_not_open")
    assert consumer.refused["question_not_open"] == 1
    assert not Answer.objects.exists()
