"""A simulated phone counts as delivered each frame its page would apply, once: the host of an
in-step game waits on that count before it presses on. Frames the broker replays from before
the phone's snapshot once counted too, and the host moved on before some phones had the
game's last frame."""

import json
from types import SimpleNamespace

from bench.clients import Endpoint
from bench.players import JoinPlayers, Player, Players, Site
from bench.stomp import Frame


def phone(snapshot_version: int) -> Player:
    site = Site("127.0.0.1", 8000, Endpoint("ws", "127.0.0.1", 15674, login="token", passcode=""))
    team = Players(JoinPlayers(site, [], (0.5, 3.0)), SimpleNamespace(value=0))
    player = Player(team, 1, "123456", "Ann", "127.0.0.2")
    player.version = snapshot_version
    return player


def message(subscription: str, body: dict) -> Frame:
    return Frame(
        b"MESSAGE",
        f"MESSAGE\nsubscription:{subscription}".encode(),
        json.dumps(body, separators=(",", ":")).encode(),
    )


def test_replayed_frames_from_before_the_snapshot_are_not_delivered_again() -> None:
    ann = phone(snapshot_version=3)
    for version in (1, 3, 4):
        ann.on_message(None, message("status", {"type": "question_closed", "version": version}), 0)
    assert ann.team.progress.value == 1
    assert ann.frames["question_closed"] == 1


def test_each_questions_own_result_is_delivered_once() -> None:
    ann = phone(snapshot_version=0)
    for question_id in (7, 7, 8):
        body = {"type": "my_result", "data": {"question_id": question_id}}
        ann.on_message(None, message("replies", body), 0)
    assert ann.team.progress.value == 2
    assert ann.frames["my_result"] == 2
