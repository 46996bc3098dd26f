"""Presence on a topic, driven with bytes and a fake clock: announce, watch, join and leave."""

from __future__ import annotations

import json

import jwt
import pytest
from stomp_bytes import GUEST_HASH, SECRET, Client, Clock, make_broker

from broker.config import config_from_dict
from broker.frames import Frame
from broker.metrics import StatsCollector
from broker.routing import Broker
from broker.tokens import issue_token

STATUS = "/topic/games.42.status"
PRESENCE = "/presence/games.42.status"


def player_token(clock: Clock, player: int, *, announce: tuple[str, ...] = (STATUS,)) -> str:
    """What the site gives a player: read its game, announce itself on its status topic."""
    return issue_token(
        secret=SECRET,
        subject=f"player:{player}",
        read=("/topic/games.42.*",),
        write=(),
        announce=announce,
        ttl_seconds=3600,
        now=clock.wall,
    )


def host_token(clock: Clock, *, watch: tuple[str, ...] = (STATUS,)) -> str:
    return issue_token(
        secret=SECRET,
        subject="host:42",
        read=("/topic/games.42.*",),
        write=(),
        watch=watch,
        ttl_seconds=3600,
        now=clock.wall,
    )


def with_token(broker: Broker, token: str, extra: str = "") -> Client:
    client = Client(broker)
    # The login header is what the client says; presence uses the token's subject.
    assert client.connect(login="someone-else", passcode=token, extra=extra).command == "CONNECTED"
    return client


def announce(client: Client, sid: str = "status") -> None:
    client.send(f"SUBSCRIBE\nid:{sid}\ndestination:{STATUS}\npresence:announce\n\n\x00")


def events(client: Client) -> list[dict[str, object]]:
    frames = client.frames()
    assert all(frame.command == "MESSAGE" for frame in frames), frames
    return [json.loads(frame.body) for frame in frames]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker(clock: Clock) -> Broker:
    return make_broker(clock)


def watching(broker: Broker, clock: Clock) -> Client:
    host = with_token(broker, host_token(clock))
    host.subscribe(PRESENCE, sid="presence")
    return host


def test_watcher_gets_a_snapshot_then_joins_by_token_subject(broker: Broker, clock: Clock) -> None:
    early = with_token(broker, player_token(clock, 1))
    announce(early)
    host = with_token(broker, host_token(clock))
    host.subscribe(PRESENCE, sid="presence")
    snapshot = host.frame()
    assert snapshot.headers["destination"] == PRESENCE
    assert snapshot.headers["presence-event"] == "snapshot"
    assert snapshot.headers["content-type"] == "application/json"
    assert json.loads(snapshot.body) == {"event": "snapshot", "users": ["player:1"]}
    announce(with_token(broker, player_token(clock, 2)))
    assert events(host) == [{"event": "join", "user": "player:2"}]


def test_announcing_subscription_still_receives_the_topic(broker: Broker, clock: Clock) -> None:
    player = with_token(broker, player_token(clock, 1))
    announce(player)
    publisher = Client(broker)
    publisher.connect()
    publisher.publish(STATUS, body="round 1")
    assert player.frame().body == b"round 1"


def test_leave_when_the_announced_subscription_ends(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    player = with_token(broker, player_token(clock, 1))
    announce(player)
    player.send("UNSUBSCRIBE\nid:status\n\n\x00")
    assert [event["event"] for event in events(host)] == ["snapshot", "join", "leave"]


def test_leave_when_the_connection_closes(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    player = with_token(broker, player_token(clock, 1))
    announce(player)
    host.frames()
    player.session.connection_lost("socket closed")
    assert events(host) == [{"event": "leave", "user": "player:1"}]
    assert broker.presence.users("games.42.status") == []


def test_leave_when_the_heart_beat_times_out(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    player = with_token(broker, player_token(clock, 1), extra="heart-beat:1000,0\n")
    announce(player)
    host.frames()
    clock.advance(3.1)
    broker.tick()
    assert "no heart-beat" in player.frame().headers["message"]
    assert events(host) == [{"event": "leave", "user": "player:1"}]


def test_two_connections_of_one_user_are_one_presence(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    old = with_token(broker, player_token(clock, 1))
    announce(old)
    renewed = with_token(broker, player_token(clock, 1))
    announce(renewed)
    old.session.connection_lost("token renewed")
    assert [event["event"] for event in events(host)] == ["snapshot", "join"]
    renewed.session.connection_lost("page closed")
    assert events(host) == [{"event": "leave", "user": "player:1"}]


def test_users_leave_in_any_order_and_the_snapshot_follows(broker: Broker, clock: Clock) -> None:
    players = [with_token(broker, player_token(clock, n)) for n in (1, 2, 3)]
    for player in players:
        announce(player)
    players[1].session.connection_lost("gone")
    host = watching(broker, clock)
    assert events(host) == [{"event": "snapshot", "users": ["player:1", "player:3"]}]


def test_plain_subscription_is_not_announced(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    with_token(broker, player_token(clock, 1)).subscribe(STATUS)
    assert events(host) == [{"event": "snapshot", "users": []}]


def refused(client: Client, frame: str) -> Frame:
    client.send(frame)
    error = client.frame()
    assert error.command == "ERROR" and client.session.closing
    return error


def others_still_served(broker: Broker, clock: Clock) -> None:
    host = watching(broker, clock)
    announce(with_token(broker, player_token(clock, 9)))
    assert events(host)[-1] == {"event": "join", "user": "player:9"}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            f"SUBSCRIBE\nid:p\ndestination:{PRESENCE}\n\n\x00",
            "access refused: 'player:1' may not watch the presence of /topic/games.42.status",
        ),
        (
            "SUBSCRIBE\nid:s\ndestination:/topic/games.42.players\npresence:announce\n\n\x00",
            "access refused: 'player:1' may not announce itself on /topic/games.42.players",
        ),
        (
            "SUBSCRIBE\nid:s\ndestination:/topic/games.42.*\npresence:announce\n\n\x00",
            "cannot announce on /topic/games.42.*: presence is announced on one /topic/",
        ),
        (
            f"SUBSCRIBE\nid:s\ndestination:{STATUS}\npresence:yes\n\n\x00",
            "presence header must be 'announce', got 'yes'",
        ),
        (
            f'SEND\ndestination:{PRESENCE}\n\n{{"event":"join","user":"player:2"}}\x00',
            "cannot SEND to /presence/games.42.status: only the broker sends presence events",
        ),
    ],
    ids=["watch-without-watch", "announce-elsewhere", "announce-pattern", "bad-value", "forge"],
)
def test_presence_refusals_say_why(broker: Broker, clock: Clock, frame: str, message: str) -> None:
    player = with_token(broker, player_token(clock, 1))
    assert message in refused(player, frame).headers["message"]
    others_still_served(broker, clock)


def test_a_read_grant_over_the_whole_game_does_not_grant_presence(
    broker: Broker, clock: Clock
) -> None:
    """guest may read and write `*`, and still sees no presence: that takes `watch`."""
    guest = Client(broker)
    guest.connect()
    error = refused(guest, f"SUBSCRIBE\nid:p\ndestination:{PRESENCE}\n\n\x00")
    assert (
        "'guest' may not watch the presence of /topic/games.42.status" in error.headers["message"]
    )
    others_still_served(broker, clock)


def test_announcing_without_the_presence_claim_is_refused(broker: Broker, clock: Clock) -> None:
    player = with_token(broker, player_token(clock, 1, announce=()))
    error = refused(player, f"SUBSCRIBE\nid:s\ndestination:{STATUS}\npresence:announce\n\n\x00")
    assert (
        "'player:1' may not announce itself on /topic/games.42.status" in error.headers["message"]
    )
    others_still_served(broker, clock)


def test_watching_a_wildcard_presence_is_refused(broker: Broker, clock: Clock) -> None:
    host = with_token(broker, host_token(clock, watch=("/topic/games.42.*",)))
    error = refused(host, "SUBSCRIBE\nid:p\ndestination:/presence/games.42.*\n\n\x00")
    assert "presence is for one topic" in error.headers["message"]
    others_still_served(broker, clock)


def test_malformed_presence_claim_is_refused_at_connect(broker: Broker, clock: Clock) -> None:
    token = jwt.encode(
        {"sub": "x", "exp": clock.wall + 60, "aud": "broker", "presence": ["/topic/a"]},
        SECRET,
        algorithm="HS256",
    )
    error = Client(broker).connect(login="token", passcode=token)
    assert error.command == "ERROR"
    assert "the presence claim must be" in error.headers["message"]
    others_still_served(broker, clock)


def test_stats_count_presence_watchers(broker: Broker, clock: Clock) -> None:
    watching(broker, clock)
    assert broker.stats()["subscriptions"] == {PRESENCE: 1}


def test_a_configured_login_announces_and_watches_by_its_config() -> None:
    config = config_from_dict(
        {
            "users": [
                {
                    "login": "kiosk",
                    "passcode_hash": GUEST_HASH,
                    "read": ["/topic/games.*"],
                    "announce": [STATUS],
                },
                {"login": "board", "passcode_hash": GUEST_HASH, "watch": [STATUS]},
            ]
        }
    )
    broker = Broker(config)
    board = Client(broker)
    board.connect(login="board")
    board.subscribe(PRESENCE)
    kiosk = Client(broker)
    kiosk.connect(login="kiosk")
    announce(kiosk)
    assert events(board) == [
        {"event": "snapshot", "users": []},
        {"event": "join", "user": "kiosk"},
    ]


def test_metrics_count_presence_watchers_as_their_own_kind(broker: Broker, clock: Clock) -> None:
    watching(broker, clock)
    stats = {**broker.stats(), "transport": {"tcp_write_buffer_bytes": 0, "http_answer_bytes": 0}}
    families = {
        family.name: family for family in StatsCollector(lambda: stats, lambda: 0.0).collect()
    }
    by_kind = {
        sample.labels["kind"]: sample.value for sample in families["stomp_subscriptions"].samples
    }
    assert by_kind == {"topic": 0, "queue": 0, "presence": 1}
