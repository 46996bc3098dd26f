"""Presence against a real broker process, over TCP and WebSocket: snapshot, join, leave on
disconnect and on a heart-beat timeout, refusals, and a token renewal that does not flap."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from raw_stomp import RawStomp, websocket_frames
from real_broker import BrokerProcess, start_broker
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from broker.client import client_frame, connect_frame
from broker.frames import Frame
from broker.tokens import issue_token

SECRET = "integration-secret-that-is-long-enough-for-hs256"
STATUS = "/topic/games.7.status"
PRESENCE = "/presence/games.7.status"


@pytest.fixture(scope="module")
def presence_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    toml = f'[tokens]\nsecret = "{SECRET}"\n\n[limits]\nheartbeat_grace = 2\n'
    with start_broker(tmp_path_factory.mktemp("presence"), toml=toml) as broker:
        yield broker


def token(subject: str, *, announce: tuple[str, ...] = (), watch: tuple[str, ...] = ()) -> str:
    return issue_token(
        secret=SECRET,
        subject=subject,
        read=("/topic/games.7.*",),
        write=(),
        announce=announce,
        watch=watch,
        ttl_seconds=600,
        now=time.time(),
    )


def player(broker: BrokerProcess, number: int, heart_beat: str = "0,0") -> RawStomp:
    """A player's connection over TCP, announced on the game's status topic."""
    client = RawStomp(broker.tcp_port)
    client.send(connect_frame("token", token(f"player:{number}", announce=(STATUS,)), heart_beat))
    assert client.next_frame().command == "CONNECTED"
    subscribe = {"id": "s", "destination": STATUS, "presence": "announce", "receipt": "r"}
    client.send(client_frame("SUBSCRIBE", subscribe))
    assert client.next_frame().command == "RECEIPT"
    return client


class Host:
    """The host's page: a WebSocket watching the game's presence."""

    def __init__(self, ws: ClientConnection) -> None:
        self.frames = websocket_frames(ws)
        ws.send(connect_frame("token", token("host:7", watch=(STATUS,))))
        assert next(self.frames).command == "CONNECTED"
        ws.send(client_frame("SUBSCRIBE", {"id": "p", "destination": PRESENCE}))

    def next_event(self) -> dict[str, object]:
        frame = next(self.frames)
        assert frame.command == "MESSAGE" and frame.headers["destination"] == PRESENCE, frame
        return json.loads(frame.body)


@contextlib.contextmanager
def hosting(broker: BrokerProcess) -> Iterator[Host]:
    with ws_connect(broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        yield Host(ws)


@pytest.fixture
def host(presence_broker: BrokerProcess) -> Iterator[Host]:
    with hosting(presence_broker) as watcher:
        yield watcher


def test_snapshot_then_join_then_leave_on_disconnect(
    presence_broker: BrokerProcess, host: Host
) -> None:
    assert host.next_event() == {"event": "snapshot", "users": []}
    first = player(presence_broker, 1)
    assert host.next_event() == {"event": "join", "user": "player:1"}
    second = player(presence_broker, 2)
    assert host.next_event() == {"event": "join", "user": "player:2"}
    with hosting(presence_broker) as late:
        assert late.next_event() == {"event": "snapshot", "users": ["player:1", "player:2"]}
    first.close()
    assert host.next_event() == {"event": "leave", "user": "player:1"}
    second.close()
    assert host.next_event() == {"event": "leave", "user": "player:2"}


def test_leave_when_the_heart_beats_stop(presence_broker: BrokerProcess, host: Host) -> None:
    assert host.next_event()["event"] == "snapshot"
    silent = player(presence_broker, 3, heart_beat="100,0")  # promises beats, sends none
    assert host.next_event() == {"event": "join", "user": "player:3"}
    assert "no heart-beat" in silent.next_frame().headers["message"]
    assert host.next_event() == {"event": "leave", "user": "player:3"}
    silent.close()


def test_renewed_token_overlapping_the_old_connection_does_not_flap(
    presence_broker: BrokerProcess, host: Host
) -> None:
    assert host.next_event()["event"] == "snapshot"
    old = player(presence_broker, 4)
    assert host.next_event() == {"event": "join", "user": "player:4"}
    renewed = player(presence_broker, 4)
    old.send(client_frame("DISCONNECT", {"receipt": "bye"}))
    assert old.next_frame().headers["receipt-id"] == "bye"
    old.close()
    # The next event is this join: the old connection's end told the host nothing.
    marker = player(presence_broker, 5)
    assert host.next_event() == {"event": "join", "user": "player:5"}
    renewed.close()
    assert host.next_event() == {"event": "leave", "user": "player:4"}
    marker.close()
    assert host.next_event() == {"event": "leave", "user": "player:5"}


def refusal(broker: BrokerProcess, access: str, frame: bytes) -> Frame:
    client = RawStomp(broker.tcp_port)
    client.send(connect_frame("token", access))
    assert client.next_frame().command == "CONNECTED"
    client.send(frame)
    error = client.next_frame()
    assert error.command == "ERROR"
    with pytest.raises(ConnectionError):
        client.next_frame()
    client.close()
    return error


@pytest.mark.parametrize(
    ("subject", "grants", "frame", "message"),
    [
        (
            "player:1",
            {"announce": (STATUS,)},
            client_frame("SUBSCRIBE", {"id": "p", "destination": PRESENCE}),
            "access refused: 'player:1' may not watch the presence of /topic/games.7.status",
        ),
        (
            "host:7",
            {"watch": (STATUS,)},
            client_frame("SUBSCRIBE", {"id": "s", "destination": STATUS, "presence": "announce"}),
            "access refused: 'host:7' may not announce itself on /topic/games.7.status",
        ),
        (
            "player:1",
            {"announce": (STATUS,)},
            client_frame("SEND", {"destination": PRESENCE}, '{"event":"leave"}'),
            "cannot SEND to /presence/games.7.status: only the broker sends presence events",
        ),
    ],
    ids=["player-watches", "host-announces", "forged-event"],
)
def test_refusals_say_why_and_the_host_keeps_being_served(
    presence_broker: BrokerProcess,
    host: Host,
    subject: str,
    grants: dict[str, tuple[str, ...]],
    frame: bytes,
    message: str,
) -> None:
    assert host.next_event()["event"] == "snapshot"
    access = token(subject, **grants)
    assert refusal(presence_broker, access, frame).headers["message"] == message
    still = player(presence_broker, 6)
    assert host.next_event() == {"event": "join", "user": "player:6"}
    still.close()
    assert host.next_event() == {"event": "leave", "user": "player:6"}


def test_a_login_with_every_right_may_not_watch_presence_by_default(tmp_path: Path) -> None:
    """A login with every read and write right still may not watch: presence is default deny."""
    with start_broker(tmp_path) as broker:
        client = RawStomp(broker.tcp_port)
        assert client.connect().command == "CONNECTED"
        client.send(client_frame("SUBSCRIBE", {"id": "p", "destination": PRESENCE}))
        error = client.next_frame()
        assert error.headers["message"] == (
            "access refused: 'guest' may not watch the presence of /topic/games.7.status"
        )
        client.close()
