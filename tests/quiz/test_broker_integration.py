"""A scripted game through the views, watched on the REAL broker by a stomp.py subscriber."""

import json
import queue
import time

import pytest
import stomp
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


class Collector(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.frames: queue.Queue[dict] = queue.Queue()

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


def test_scripted_game_publishes_frames_in_order(game_broker_settings, quiz, author,
                                                 monkeypatch) -> None:
    monkeypatch.undo()  # real publisher and timers
    from quiz.game import publisher, services

    publisher._drop_connection()
    game = services.create_game(quiz=quiz, host=author)
    watcher = stomp.Connection([(game_broker_settings.tcp_host, game_broker_settings.tcp_port)])
    collector = Collector()
    watcher.set_listener("", collector)
    watcher.connect(game_broker_settings.login, game_broker_settings.passcode, wait=True)
    watcher.subscribe(f"/topic/games.{game.id}.status", id="status")
    watcher.subscribe(f"/topic/games.{game.id}.players", id="players")
    time.sleep(0.2)
    host, ann = Client(), Client()
    host.force_login(author)
    ann.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    for action in ("start", "next"):
        snap = host.post(f"/api/games/{game.id}/{action}/").json()
        q = snap["question"]
        ann.post(f"/api/games/{game.id}/answer/", content_type="application/json",
                 data={"question_id": q["id"], "choice_ids": [q["choices"][0]["id"]]})
    host.post(f"/api/games/{game.id}/next/")
    expected = ["player_joined",
                "question_open", "answer_count", "question_closed", "leaderboard",
                "question_open", "answer_count", "question_closed", "leaderboard", "finished"]
    frames = drain(collector, len(expected))
    watcher.disconnect()
    assert [f["type"] for f in frames] == expected
    versions = [f["version"] for f in frames]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    for frame in frames:
        if frame["type"] in ("question_open", "answer_count"):
            assert "correct" not in json.dumps(frame)
