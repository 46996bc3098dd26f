"""The scripted game the integration tests play through Django's views on a real broker,
with a stomp.py watcher on the game's topics, so every broker is held to the same frames."""

from __future__ import annotations

import json
import queue
import time
from typing import TYPE_CHECKING

import stomp
from django.contrib.auth.models import User
from django.test import Client

from quiz.game.models import Quiz

if TYPE_CHECKING:
    from game_fixtures import GameBroker

EXPECTED_FRAME_TYPES = [
    "player_joined",
    "question_open",
    "answer_count",
    "question_closed",
    "leaderboard",
    "question_open",
    "answer_count",
    "question_closed",
    "leaderboard",
    "finished",
]


class Collector(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.frames: queue.Queue[dict] = queue.Queue()
        self.receipts: queue.Queue[str] = queue.Queue()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        self.receipts.put(frame.headers["receipt-id"])

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self.frames.put(json.loads(frame.body))


def drain(collector: Collector, count: int, timeout: float = 5.0) -> list[dict]:
    frames, deadline = [], time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        try:
            frames.append(collector.frames.get(timeout=0.1))
        except queue.Empty:
            pass
    return frames


def play_and_watch(broker: GameBroker, *, quiz: Quiz, author: User) -> list[dict]:
    """Host a game of `quiz`, let Ann join and answer both questions, and return the frames
    the broker delivered on the game's two topics (Django must already point at `broker`)."""
    from quiz import live
    from quiz.game import services

    live.get_backend().close()
    game = services.create_game(quiz=quiz, host=author)
    watcher = stomp.Connection([(broker.tcp_host, broker.tcp_port)])
    collector = Collector()
    watcher.set_listener("", collector)
    watcher.connect(broker.login, broker.passcode, wait=True)
    watcher.subscribe(f"/topic/games.{game.id}.status", id="status")
    watcher.subscribe(f"/topic/games.{game.id}.players", id="players", receipt="subscribed")
    assert collector.receipts.get(timeout=5) == "subscribed"  # both, in order
    host, ann = Client(), Client()
    host.force_login(author)
    ann.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    for action in ("start", "next"):
        snap = host.post(f"/api/games/{game.id}/{action}/").json()
        q = snap["question"]
        ann.post(
            f"/api/games/{game.id}/answer/",
            content_type="application/json",
            data={"question_id": q["id"], "choice_ids": [q["choices"][0]["id"]]},
        )
        services.report_answers(game_id=game.id)  # the ticker's work, done here and now
    host.post(f"/api/games/{game.id}/next/")
    frames = drain(collector, len(EXPECTED_FRAME_TYPES))
    watcher.disconnect()
    live.get_backend().close()
    return frames


def assert_frames_of_the_scripted_game(frames: list[dict]) -> None:
    """The frames in order; each versioned one a version of its own, each live one at the
    version of the frame before it (the lobby's, 1, for the first)."""
    from quiz.live.frames import LIVE_TYPES

    assert [f["type"] for f in frames] == EXPECTED_FRAME_TYPES
    versioned = [f["version"] for f in frames if f["type"] not in LIVE_TYPES]
    assert versioned == sorted(versioned) and len(set(versioned)) == len(versioned)
    previous = [1] + [f["version"] for f in frames[:-1]]
    assert [f["version"] for f in frames if f["type"] in LIVE_TYPES] == [
        v for f, v in zip(frames, previous, strict=True) if f["type"] in LIVE_TYPES
    ]
    for frame in frames:
        if frame["type"] in ("question_open", "answer_count"):
            assert "correct" not in json.dumps(frame)
