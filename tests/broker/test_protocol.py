"""The STOMP protocol as the broker speaks it, driven with bytes and a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from stomp_bytes import GUEST_HASH, SECRET, Client, Clock, make_broker, on_a_clock

from broker.auth import PasscodeCheck
from broker.config import Permissions, Store, User
from broker.frames import Frame
from broker.permissions import glob_covers_topic_pattern
from broker.routing import Broker
from broker.session import Session, State
from broker.stores import MemoryStore, StoredMessage
from broker.tokens import issue_token


@pytest.fixture
def broker() -> Broker:
    return make_broker()


def connected(broker: Broker, version: str = "1.2") -> Client:
    client = Client(broker)
    assert client.connect(version).command == "CONNECTED"
    return client


# Connecting


@pytest.mark.parametrize(
    ("offered", "chosen"), [("1.0,1.1,1.2", "1.2"), ("1.1", "1.1"), ("1.0,1.1", "1.1")]
)
def test_connect_picks_the_highest_common_version(
    broker: Broker, offered: str, chosen: str
) -> None:
    assert Client(broker).connect(offered).headers["version"] == chosen


def test_no_common_version_is_an_error_and_the_connection_closes(broker: Broker) -> None:
    client = Client(broker)
    error = client.connect("2.0")
    assert error.command == "ERROR" and "1.0, 1.1, 1.2" in error.headers["message"]
    assert error.headers["version"] == "1.0,1.1,1.2"
    assert client.session.closing


def test_connect_without_accept_version_speaks_1_0(broker: Broker) -> None:
    client = Client(broker)
    client.send("CONNECT\nlogin:guest\npasscode:guest\n\n\x00")
    assert client.frame().headers["version"] == "1.0"


@pytest.mark.parametrize("host", ["", "host:/\n", "host:example.org\n", "host:127.0.0.1\n"])
def test_any_host_header_or_none_is_accepted(broker: Broker, host: str) -> None:
    client = Client(broker)
    client.send(f"STOMP\naccept-version:1.2\n{host}login:guest\npasscode:guest\n\n\x00")
    assert client.frame().command == "CONNECTED"


def test_connect_larger_than_its_limit_is_refused_before_it_is_whole(broker: Broker) -> None:
    client = Client(broker)
    client.send("CONNECT\naccept-version:1.2\n")
    for n in range(3):
        client.send(f"pad{n}:{'x' * 7000}\n")
    error = client.frame()
    assert "limits.max_connect_frame_bytes=16384" in error.headers["message"]
    assert client.session.closing
    assert connected(broker).session.connected  # others still get in


def test_whole_connect_larger_than_its_limit_is_refused() -> None:
    client = Client(make_broker(limits={"max_connect_frame_bytes": 100}))
    error = client.connect(extra=f"pad:{'x' * 100}\n")
    assert "limits.max_connect_frame_bytes=100" in error.headers["message"]


def test_wrong_passcode_is_refused(broker: Broker) -> None:
    error = Client(broker).connect(passcode="nope")
    assert error.command == "ERROR" and "login failed" in error.headers["message"]


class HeldChecks:
    """A verifier that keeps each passcode check until the test runs it, as the server's
    thread pool would finish it later, or until the broker cancels it."""

    def __init__(self) -> None:
        self.pending: list[tuple[PasscodeCheck, Callable[[bool], object]]] = []
        self.cancelled: list[PasscodeCheck] = []

    def __call__(
        self, check: PasscodeCheck, done: Callable[[bool], object]
    ) -> Callable[[], object]:
        entry = (check, done)
        self.pending.append(entry)

        def cancel() -> None:
            self.pending.remove(entry)
            self.cancelled.append(check)

        return cancel

    def finish(self) -> PasscodeCheck:
        check, done = self.pending.pop(0)
        done(check.run())
        return check


def test_passcode_check_runs_outside_the_session_and_later_frames_wait() -> None:
    checks = HeldChecks()
    clock = Clock()
    broker = make_broker(clock, verifier=checks)
    bystander = Client(broker)
    assert bystander.connect(login="token", passcode=token(clock)).command == "CONNECTED"
    client = Client(broker)
    client.send(
        "CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00"
        "SUBSCRIBE\nid:1\ndestination:/topic/after\nreceipt:r\n\n\x00"
    )
    assert client.frames() == [] and len(checks.pending) == 1
    bystander.send("SUBSCRIBE\nid:1\ndestination:/topic/games.42.meanwhile\nreceipt:s\n\n\x00")
    assert bystander.frame().headers["receipt-id"] == "s"  # served meanwhile
    checks.finish()
    assert [frame.command for frame in client.frames()] == ["CONNECTED", "RECEIPT"]


def test_a_session_goes_from_awaiting_connect_through_verifying_and_connected_to_closing() -> None:
    checks = HeldChecks()
    client = Client(make_broker(verifier=checks))
    states = [client.session.state]
    client.send("CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
    states.append(client.session.state)
    checks.finish()
    states.append(client.session.state)
    client.send("DISCONNECT\n\n\x00")
    states.append(client.session.state)
    assert states == [State.AWAITING_CONNECT, State.VERIFYING, State.CONNECTED, State.CLOSING]


def connecting(broker: Broker, passcode: str = "wrong", peer: str = "10.0.0.1:1") -> Client:
    """A client whose CONNECT as guest waits for its passcode check."""
    client = Client(broker, peer=peer)
    client.send(f"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:{passcode}\n\n\x00")
    return client


def test_a_login_verified_before_skips_the_queue_of_passcode_checks() -> None:
    checks = HeldChecks()
    broker = make_broker(verifier=checks)
    connecting(broker, passcode="guest")
    checks.finish()
    for n in range(3):
        connecting(broker, peer=f"10.0.0.{n}:1")
    again = connecting(broker, passcode="guest")
    assert again.frame().command == "CONNECTED" and len(checks.pending) == 3


def test_the_passcode_check_of_a_client_that_left_is_cancelled() -> None:
    checks = HeldChecks()
    broker = make_broker(verifier=checks)
    leaver, timed_out, stayer = (connecting(broker, peer=f"10.0.0.{n}:1") for n in range(3))
    leaver.session.connection_lost("peer closed")
    timed_out.session.fail("no CONNECT frame within 10 seconds")
    assert len(checks.cancelled) == 2 and len(checks.pending) == 1
    checks.finish()
    assert stayer.frame().command == "ERROR"


def test_passcode_checks_past_their_limits_are_refused_naming_the_limit() -> None:
    checks = HeldChecks()
    limits = {"max_pending_logins_per_host": 2, "max_pending_logins": 3}
    broker = make_broker(verifier=checks, limits=limits)
    connecting(broker, peer="10.0.0.1:1")
    connecting(broker, peer="10.0.0.1:2")
    third = connecting(broker, peer="10.0.0.1:3")
    assert "limits.max_pending_logins_per_host=2" in third.frame().headers["message"]
    assert connecting(broker, peer="10.0.0.2:1").frames() == []  # another address: queued
    fourth = connecting(broker, peer="10.0.0.3:1")
    assert "limits.max_pending_logins=3" in fourth.frame().headers["message"]
    checks.finish()  # a check done frees its place
    assert connecting(broker, peer="10.0.0.3:2").frames() == []
    assert len(checks.pending) == 3


def test_unknown_login_costs_the_same_hash_as_a_known_one() -> None:
    checks = HeldChecks()
    broker = make_broker(verifier=checks)
    Client(broker).send("CONNECT\naccept-version:1.2\nlogin:guest\npasscode:nope\n\n\x00")
    client = Client(broker)
    client.send("CONNECT\naccept-version:1.2\nlogin:nobody\npasscode:nope\n\n\x00")
    known, unknown = checks.finish(), checks.finish()
    assert unknown.passcode_hash.split("$")[:2] == known.passcode_hash.split("$")[:2]
    assert "login failed: unknown login" in client.frame().headers["message"]


def test_bytes_sent_while_the_passcode_is_checked_are_bounded() -> None:
    checks = HeldChecks()
    client = Client(make_broker(verifier=checks, limits={"max_frame_bytes": 1024}))
    client.send("CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
    client.send(b"SEND\ndestination:/topic/a\n\n" + b"x" * 1024)
    error = client.frame()
    assert "max_frame_bytes=1024 bytes sent before the CONNECT was answered" in error.body.decode()
    assert len(checks.cancelled) == 1 and client.frames() == []


def test_a_check_answered_after_its_connection_closed_is_left_alone() -> None:
    checks = HeldChecks()
    client = Client(make_broker(verifier=checks))
    client.send("CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
    check, done = checks.pending[0]
    client.session.connection_lost("peer closed")
    done(check.run())  # its thread had started it: the cancel came too late
    assert client.frames() == [] and not client.session.connected


RESTRICTED = (
    User("publisher", GUEST_HASH, listeners=("tcp",)),
    User("local", GUEST_HASH, loopback_only=True),
)


@pytest.mark.parametrize(
    ("login", "transport", "peer", "refusal"),
    [
        ("publisher", "tcp", "10.0.0.5:4000", None),
        ("publisher", "ws", "127.0.0.1:4000", "login 'publisher' may not connect over ws"),
        ("local", "ws", "127.0.0.1:4000", None),
        ("local", "tcp", "::1:4000", None),
        ("local", "tcp", "::ffff:127.0.0.1:4000", None),
        ("local", "tcp", "10.0.0.5:4000", "may only connect from a loopback address"),
        ("local", "tcp", "::ffff:10.0.0.5:4000", "may only connect from a loopback address"),
    ],
)
def test_restricted_login_connects_only_over_its_listeners_and_addresses(
    login: str, transport: str, peer: str, refusal: str | None
) -> None:
    broker = make_broker(users=RESTRICTED)
    bystander = Client(broker)
    bystander.connect(login="local")
    bystander.subscribe("/topic/still")
    reply = Client(broker, transport=transport, peer=peer).connect(login=login)
    if refusal is None:
        assert reply.command == "CONNECTED"
    else:
        assert reply.command == "ERROR" and refusal in reply.headers["message"]
    bystander.publish("/topic/still", "here")
    assert [frame.body for frame in bystander.frames()] == [b"here"]


def test_restriction_is_not_told_before_the_passcode_is_right() -> None:
    client = Client(make_broker(users=RESTRICTED), transport="ws")
    assert "login failed" in client.connect(login="publisher", passcode="nope").headers["message"]


def test_anonymous_needs_allow_anonymous() -> None:
    client = Client(make_broker())
    client.send("CONNECT\naccept-version:1.2\n\n\x00")
    assert "login required" in client.frame().headers["message"]
    client = Client(make_broker(allow_anonymous=True))
    client.send("CONNECT\naccept-version:1.2\n\n\x00")
    assert client.frame().command == "CONNECTED"


def test_frames_before_connect_are_refused(broker: Broker) -> None:
    client = Client(broker)
    client.publish("/topic/a")
    assert "expected CONNECT" in client.frame().headers["message"]


def test_over_max_connections_gets_an_error_at_once() -> None:
    broker = make_broker(limits={"max_connections": 1})
    Client(broker)
    refused = Client(broker)
    assert "limits.max_connections=1" in refused.frame().headers["message"]
    assert refused.session.closing


# Messages


def test_topic_message_reaches_every_subscriber_with_its_headers(broker: Broker) -> None:
    alice, bob = connected(broker), connected(broker)
    alice.subscribe("/topic/news", sid="a")
    bob.subscribe("/topic/news", sid="b")
    publisher = connected(broker)
    publisher.publish("/topic/news", "hello", headers="content-type:text/plain\nx-url:http://h:1\n")
    for client, sid in ((alice, "a"), (bob, "b")):
        message = client.frame()
        assert (message.command, message.body) == ("MESSAGE", b"hello")
        assert message.headers["subscription"] == sid
        assert message.headers["destination"] == "/topic/news"
        assert message.headers["x-url"] == "http://h:1"
        assert message.headers["content-length"] == "5"


def test_fan_out_shares_one_encoded_body_between_subscribers(broker: Broker) -> None:
    subscribers = [connected(broker) for _ in range(3)]
    for client in subscribers:
        client.subscribe("/topic/shared")
    connected(broker).publish("/topic/shared", "x" * 200)
    tails = [client.session.data_to_send()[-1] for client in subscribers]
    assert tails[0] is tails[1] is tails[2]


def test_header_escaping_survives_the_trip_in_each_version(broker: Broker) -> None:
    v12, v10 = connected(broker, "1.2"), connected(broker, "1.0")
    v12.subscribe("/topic/esc")
    v10.send("SUBSCRIBE\ndestination:/topic/esc\n\n\x00")
    connected(broker, "1.2").publish("/topic/esc", headers="note:a\\cb\\nc\n")
    assert b"note:a\\cb\\nc\n" in v12.raw()
    assert b"note:a:bc\n" in v10.raw()


@pytest.mark.parametrize(
    ("version", "line"),
    [("1.0", b"x-note:aMESSAGEforgedb\n"), ("1.1", b"x-note:a\\nMESSAGEforgedb\n")],
)
def test_line_breaks_from_a_1_2_publisher_never_reach_older_subscribers_raw(
    broker: Broker, version: str, line: bytes
) -> None:
    subscriber = connected(broker, version)
    subscriber.send("SUBSCRIBE\nid:1\ndestination:/topic/inject\n\n\x00")
    connected(broker, "1.2").publish(
        "/topic/inject", headers="x-note:a\\r\\nMESSAGE\\rforged\\rb\n"
    )
    head = subscriber.raw().split(b"\n\n", 1)[0]
    assert b"\r" not in head and line in head + b"\n"


def test_nul_in_a_header_is_refused_and_others_keep_receiving(broker: Broker) -> None:
    bystander = connected(broker)
    bystander.subscribe("/topic/still")
    client = connected(broker)
    client.publish("/topic/still", headers="x-note:a\x00b\n")
    assert "contains NUL" in client.frame().headers["message"]
    bystander.publish("/topic/still", "here")
    assert [frame.body for frame in bystander.frames()] == [b"here"]


def test_binary_body_with_nul_bytes_is_delivered_exactly(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/bin")
    connected(broker).send(b"SEND\ndestination:/topic/bin\ncontent-length:3\n\n\x00\xff\x00\x00")
    assert subscriber.frame().body == b"\x00\xff\x00"


def test_client_cannot_forge_broker_headers(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/forge")
    connected(broker).publish("/topic/forge", headers="message-id:fake\nsubscription:fake\n")
    headers = subscriber.frame().headers
    assert headers["message-id"] != "fake" and headers["subscription"] == "1"


@pytest.mark.parametrize("destination", ["/queue/forge", "/topic/forge"])
def test_a_publisher_cannot_forge_redelivered(broker: Broker, destination: str) -> None:
    subscriber = connected(broker)
    subscriber.subscribe(destination)
    connected(broker).publish(destination, headers="redelivered:true\n")
    assert "redelivered" not in subscriber.frame().headers


@pytest.mark.parametrize(
    ("pattern", "delivered", "not_delivered"),
    [
        ("/topic/games.*.status", "games.42.status", "games.42.players"),
        ("/topic/games.#", "games.42.status", "cars.42.status"),
        ("/topic/games.#", "games", "gamesx"),
        ("/topic/#.status", "games.42.status", "games.42.status.old"),
        ("/topic/*.status", "x.status", "a.b.status"),
    ],
)
def test_wildcard_subscriptions(
    broker: Broker, pattern: str, delivered: str, not_delivered: str
) -> None:
    subscriber = connected(broker)
    subscriber.subscribe(pattern)
    publisher = connected(broker)
    publisher.publish(f"/topic/{not_delivered}", "no")
    publisher.publish(f"/topic/{delivered}", "yes")
    assert [frame.body for frame in subscriber.frames()] == [b"yes"]


def test_unsubscribe_by_id_stops_delivery(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/u", sid="s1")
    subscriber.send("UNSUBSCRIBE\nid:s1\nreceipt:r\n\n\x00")
    connected(broker).publish("/topic/u")
    assert [frame.command for frame in subscriber.frames()] == ["RECEIPT"]


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ("SUBSCRIBE\nid:1\ndestination:/topic/r\nreceipt:77\n\n\x00", "RECEIPT"),
        ("SEND\nreceipt:77\n\n\x00", "ERROR"),  # no destination
    ],
)
def test_the_answer_to_a_frame_carries_its_receipt_id(
    broker: Broker, frame: str, answer: str
) -> None:
    client = connected(broker)
    client.send(frame)
    reply = client.frame()
    assert (reply.command, reply.headers["receipt-id"]) == (answer, "77")


def test_disconnect_with_receipt_closes_gracefully(broker: Broker) -> None:
    client = connected(broker)
    client.send("DISCONNECT\nreceipt:bye\n\n\x00")
    assert client.frame().headers["receipt-id"] == "bye"
    assert client.session.closing and client.session.close_reason == "client disconnected"


# Queues and acknowledgements


def test_queue_gives_each_message_to_one_subscriber_in_turn(broker: Broker) -> None:
    first, second = connected(broker), connected(broker)
    first.subscribe("/queue/work")
    second.subscribe("/queue/work")
    publisher = connected(broker)
    for number in range(4):
        publisher.publish("/queue/work", str(number))
    assert [f.body for f in first.frames()] == [b"0", b"2"]
    assert [f.body for f in second.frames()] == [b"1", b"3"]


def test_queue_keeps_messages_until_someone_subscribes(broker: Broker) -> None:
    connected(broker).publish("/queue/later", "kept")
    subscriber = connected(broker)
    subscriber.subscribe("/queue/later")
    assert subscriber.frame().body == b"kept"


def test_nack_redelivers_the_message(broker: Broker) -> None:
    client = connected(broker)
    client.subscribe("/queue/n", ack="client-individual")
    connected(broker).publish("/queue/n", "again")
    first = client.frame()
    client.send(f"NACK\nid:{first.headers['ack']}\n\n\x00")
    second = client.frame()
    assert second.body == b"again" and second.headers["redelivered"] == "true"


@pytest.mark.parametrize(
    ("mode", "still_unacked"),
    [("client", [2]), ("client-individual", [0, 2])],  # cumulative, or that message only
)
def test_acking_the_second_of_three_settles_what_the_ack_mode_says(
    broker: Broker, mode: str, still_unacked: list[int]
) -> None:
    client = connected(broker)
    client.subscribe("/queue/c", ack=mode)
    publisher = connected(broker)
    for body in ("1", "2", "3"):
        publisher.publish("/queue/c", body)
    frames = client.frames()
    client.send(f"ACK\nid:{frames[1].headers['ack']}\n\n\x00")
    assert list(client.session.unacked) == [frames[n].headers["ack"] for n in still_unacked]


def test_stomp_1_1_acks_by_message_id(broker: Broker) -> None:
    client = connected(broker, "1.1")
    client.subscribe("/queue/v11", ack="client")
    connected(broker).publish("/queue/v11")
    message = client.frame()
    assert "ack" not in message.headers
    client.send(f"ACK\nmessage-id:{message.headers['message-id']}\nsubscription:1\n\n\x00")
    assert not client.session.unacked and not client.session.closing


def test_unacked_messages_go_to_another_subscriber_when_a_session_leaves(broker: Broker) -> None:
    leaver, stayer = connected(broker), connected(broker)
    leaver.subscribe("/queue/left", ack="client")
    connected(broker).publish("/queue/left", "orphan")
    assert leaver.frame().body == b"orphan"
    stayer.subscribe("/queue/left", ack="client")
    leaver.session.connection_lost("peer closed")
    assert stayer.frame().body == b"orphan"


@pytest.mark.parametrize("ack", ["client", "client-individual"])
def test_unacked_messages_of_a_session_that_left_are_redelivered_in_their_order(
    broker: Broker, ack: str
) -> None:
    leaver = connected(broker)
    leaver.subscribe("/queue/order", ack=ack)
    publisher = connected(broker)
    bodies = [f"m{n}".encode() for n in range(5)]
    for body in bodies:
        publisher.publish("/queue/order", body.decode())
    assert [frame.body for frame in leaver.frames()] == bodies
    leaver.session.connection_lost("peer closed")
    stayer = connected(broker)
    stayer.subscribe("/queue/order", ack=ack)
    assert [frame.body for frame in stayer.frames()] == bodies


def test_an_unsubscribe_gives_back_its_unacked_messages_in_their_order(broker: Broker) -> None:
    client = connected(broker)
    client.subscribe("/queue/given.back", ack="client")
    publisher = connected(broker)
    bodies = [f"m{n}".encode() for n in range(5)]
    for body in bodies:
        publisher.publish("/queue/given.back", body.decode())
    assert len(client.frames()) == len(bodies)
    client.send("UNSUBSCRIBE\nid:1\n\n\x00")
    client.subscribe("/queue/given.back", sid="2", ack="client")
    assert [frame.body for frame in client.frames()] == bodies


@pytest.mark.parametrize("ack", ["auto", "client-individual"])
def test_empty_body_queued_before_subscribe_is_delivered(broker: Broker, ack: str) -> None:
    publisher = connected(broker)
    publisher.publish("/queue/empty", "")
    subscriber = connected(broker)
    subscriber.subscribe("/queue/empty", ack=ack)
    message = subscriber.frame()
    assert (message.command, message.body, message.headers["content-length"]) == (
        "MESSAGE",
        b"",
        "0",
    )
    assert not subscriber.session.closing and not publisher.session.closing


def test_empty_body_reaches_a_waiting_subscriber_and_the_publisher_stays(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/queue/empty", ack="client-individual")
    publisher = connected(broker)
    publisher.publish("/queue/empty", "", headers="receipt:sent\n")
    assert subscriber.frame().body == b""
    assert publisher.frame().headers["receipt-id"] == "sent"


def test_nacked_message_keeps_its_place_at_the_front(broker: Broker) -> None:
    client = connected(broker)
    client.send(
        "SUBSCRIBE\nid:1\ndestination:/queue/order\nack:client-individual\nprefetch-count:1\n\n\x00"
    )
    publisher = connected(broker)
    for body in ("1", "2", "3"):
        publisher.publish("/queue/order", body)
    first = client.frame()
    client.send(f"NACK\nid:{first.headers['ack']}\n\n\x00")
    again = client.frame()
    assert (again.body, again.headers["redelivered"]) == (b"1", "true")


def test_client_ack_subscription_holds_at_most_its_prefetch_count(broker: Broker) -> None:
    client = connected(broker)
    client.send("SUBSCRIBE\nid:1\ndestination:/queue/p\nack:client\nprefetch-count:2\n\n\x00")
    publisher = connected(broker)
    for body in ("1", "2", "3", "4"):
        publisher.publish("/queue/p", body)
    first, second = client.frames()
    assert broker.stats()["queues"]["/queue/p"] == 2
    client.send(f"ACK\nid:{first.headers['ack']}\n\n\x00")
    assert [f.body for f in client.frames()] == [b"3"]


def test_bad_prefetch_count_is_refused(broker: Broker) -> None:
    client = connected(broker)
    client.send("SUBSCRIBE\nid:1\ndestination:/queue/p\nack:client\nprefetch-count:0\n\n\x00")
    assert "prefetch-count must be a positive" in client.frame().headers["message"]


@pytest.mark.parametrize("policy", ["disconnect", "drop"])
def test_auto_ack_queue_keeps_messages_while_the_consumer_socket_is_full(policy: str) -> None:
    broker = make_broker(limits={"output_high_water_bytes": 1000, "slow_consumer_policy": policy})
    consumer = connected(broker)
    consumer.subscribe("/queue/q")
    consumer.session.note_backlog(1001)  # its socket is not draining
    publisher = connected(broker)
    for body in ("1", "2", "3"):
        publisher.publish("/queue/q", body)
    assert consumer.raw() == b"" and broker.stats()["queues"]["/queue/q"] == 3
    consumer.session.note_backlog(0)
    assert [f.body for f in consumer.frames()] == [b"1", b"2", b"3"]
    stats = broker.stats()
    assert not consumer.session.closing
    assert (stats["slow_consumers_dropped"], stats["messages_dropped"]) == (0, 0)


def test_publisher_waits_while_a_consumed_queue_is_above_its_high_water() -> None:
    broker = make_broker(limits={"queue_high_water_messages": 2, "output_high_water_bytes": 1000})
    consumer = connected(broker)
    consumer.subscribe("/queue/deep")
    consumer.session.note_backlog(1001)  # its socket is not draining
    publisher = connected(broker)
    publisher.send("".join(f"SEND\ndestination:/queue/deep\n\n{n}\x00" for n in range(4)))
    assert publisher.session.reading_paused
    assert broker.stats()["queues"]["/queue/deep"] == 3
    consumer.session.note_backlog(0)
    publisher.flush()
    assert [f.body for f in consumer.frames()] == [b"0", b"1", b"2", b"3"]
    assert not publisher.session.closing


def test_ack_of_an_unknown_id_is_an_error(broker: Broker) -> None:
    client = connected(broker)
    client.send("ACK\nid:nothing\n\n\x00")
    assert "no message awaits acknowledgement" in client.frame().headers["message"]


# Transactions


def test_transaction_sends_on_commit_only(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/tx")
    client = connected(broker)
    client.send("BEGIN\ntransaction:t1\n\n\x00")
    client.publish("/topic/tx", "held", headers="transaction:t1\n")
    assert subscriber.frames() == []
    client.send("COMMIT\ntransaction:t1\n\n\x00")
    assert subscriber.frame().body == b"held"


def test_aborted_transaction_sends_nothing_and_leaves_acks_undone(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/queue/txa", ack="client-individual")
    connected(broker).publish("/queue/txa")
    ack = subscriber.frame().headers["ack"]
    subscriber.send("BEGIN\ntransaction:t\n\n\x00")
    subscriber.send(f"ACK\nid:{ack}\ntransaction:t\n\n\x00")
    subscriber.publish("/topic/none", headers="transaction:t\n")
    subscriber.send("ABORT\ntransaction:t\n\n\x00")
    assert list(subscriber.session.unacked) == [ack]


def test_a_commit_refused_for_one_of_its_frames_applies_none_of_them(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/tx")
    client = connected(broker)
    client.send("BEGIN\ntransaction:t\n\n\x00")
    client.publish("/topic/tx", "held", headers="transaction:t\n")
    client.send("ACK\nid:q-never-delivered\ntransaction:t\n\n\x00")
    client.send("COMMIT\ntransaction:t\n\n\x00")
    assert client.frame().command == "ERROR"
    assert subscriber.frames() == []


def test_a_commit_past_a_queues_room_applies_none_of_its_sends() -> None:
    broker = make_broker(limits={"max_queue_messages": 1})
    client = connected(broker)
    client.send("BEGIN\ntransaction:t\n\n\x00")
    for body in ("1", "2"):
        client.publish("/queue/small", body, headers="transaction:t\n")
    client.send("COMMIT\ntransaction:t\n\n\x00")
    assert "limits.max_queue_messages=1" in client.frame().headers["message"]
    assert broker.stats()["queues"].get("/queue/small", 0) == 0


def test_too_many_open_transactions_is_an_error() -> None:
    client = connected(make_broker(limits={"max_transactions_per_connection": 2}))
    client.send("".join(f"BEGIN\ntransaction:t{n}\n\n\x00" for n in range(3)))
    assert "limits.max_transactions_per_connection=2" in client.frame().headers["message"]


def test_transaction_of_too_many_frames_is_an_error() -> None:
    client = connected(make_broker(limits={"max_transaction_frames": 2}))
    client.send("BEGIN\ntransaction:t\n\n\x00")
    for _ in range(3):
        client.publish("/topic/t", headers="transaction:t\n")
    assert "limits.max_transaction_frames=2" in client.frame().headers["message"]


def test_transactions_holding_too_many_bytes_is_an_error_and_others_are_served(
    broker: Broker,
) -> None:
    listener = connected(broker)
    listener.subscribe("/topic/t")
    client = connected(broker)
    client.send("BEGIN\ntransaction:a\n\n\x00BEGIN\ntransaction:b\n\n\x00")
    body = "x" * (1024 * 1024)
    for name in ("a", "b", "a", "b"):
        client.send(f"ACK\nid:t-1\ntransaction:{name}\n\n{body}\x00")
    assert "limits.max_transaction_bytes=4194304" in client.frame().headers["message"]
    connected(broker).publish("/topic/t", "still served")
    assert listener.frame().body == b"still served"


def test_committed_transaction_frees_its_bytes_for_the_next() -> None:
    client = connected(make_broker(limits={"max_transaction_bytes": 300}))
    for name in ("a", "b", "c"):
        client.send(f"BEGIN\ntransaction:{name}\n\n\x00")
        client.publish("/topic/t", "x" * 200, headers=f"transaction:{name}\n")
        client.send(f"COMMIT\ntransaction:{name}\nreceipt:{name}\n\n\x00")
    assert [f.headers["receipt-id"] for f in client.frames()] == ["a", "b", "c"]


def test_commit_of_an_unknown_transaction_is_an_error(broker: Broker) -> None:
    client = connected(broker)
    client.send("COMMIT\ntransaction:nope\n\n\x00")
    assert "was not begun" in client.frame().headers["message"]


# Errors


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("SEND\n\nx\x00", "SEND frame has no destination header"),
        ("SEND\ndestination:/elsewhere/x\n\n\x00", "must start with /topic/"),
        ("SEND\ndestination:/topic/a.*\n\n\x00", "wildcards are for subscriptions only"),
        ("SUBSCRIBE\ndestination:/topic/a\n\n\x00", "needs an id header"),
        ("SUBSCRIBE\nid:1\ndestination:/queue/a.*\n\n\x00", "wildcards are for /topic/ only"),
        ("SUBSCRIBE\nid:1\ndestination:/topic/a\nack:sometimes\n\n\x00", "ack mode"),
        ("UNSUBSCRIBE\nid:404\n\n\x00", "no subscription with id '404'"),
        ("CONNECT\n\n\x00", "already connected"),
    ],
)
def test_protocol_error_sends_error_then_closes(broker: Broker, data: str, reason: str) -> None:
    client = connected(broker)
    client.send(data + "SEND\ndestination:/topic/after\n\nignored\x00")
    error = client.frame()
    assert error.command == "ERROR" and reason in error.headers["message"]
    assert error.body.decode().strip() == error.headers["message"]
    assert client.session.closing and broker.counters.messages_in == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("SEND\ncontent-length:\u00b2\n\n\x00", "content-length must be a number of bytes"),
        ("SEND\ncontent-length:" + "9" * 5000 + "\n\n\x00", "at most 15 ASCII digits"),
        ("CONNECT\nheart-beat:\u00b2,0\n\n\x00", "heart-beat header must be two"),
        ("CONNECT\nheart-beat:" + "9" * 400 + ",0\n\n\x00", "heart-beat header must be two"),
    ],
    ids=["superscript-length", "5000-digit-length", "superscript-heart-beat", "huge-heart-beat"],
)
def test_malformed_number_before_login_gets_an_error_and_others_keep_receiving(
    broker: Broker, data: str, reason: str
) -> None:
    bystander = connected(broker)
    bystander.subscribe("/topic/still")
    client = Client(broker)
    client.send(data)
    error = client.frame()
    assert error.command == "ERROR" and reason in error.headers["message"]
    bystander.publish("/topic/still", "here")
    assert [frame.body for frame in bystander.frames()] == [b"here"]


@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000, "0", "-1", "1.5", ""])
def test_malformed_prefetch_count_gets_an_error_naming_it_and_others_keep_receiving(
    broker: Broker, value: str
) -> None:
    bystander = connected(broker)
    bystander.subscribe("/topic/still")
    client = connected(broker)
    client.send(
        f"SUBSCRIBE\nid:1\ndestination:/queue/p\nack:client\nprefetch-count:{value}\n\n\x00"
    )
    error = client.frame()
    assert error.command == "ERROR" and "prefetch-count must be" in error.headers["message"]
    assert client.session.closing
    bystander.publish("/topic/still", "here")
    assert [frame.body for frame in bystander.frames()] == [b"here"]


class StoreWithABug(MemoryStore):
    """A store that fails in a way no handler expects, for one queue."""

    def enqueue(self, destination: str, frame: StoredMessage) -> None:
        if destination == "/queue/broken":
            raise RuntimeError("a bug in the store")
        super().enqueue(destination, frame)


def test_a_frame_whose_handling_fails_unexpectedly_ends_only_its_own_connection() -> None:
    clock = Clock()
    broker = make_broker(clock)
    broker.store = StoreWithABug()
    bystander = Client(broker)
    assert bystander.connect(extra="heart-beat:0,1000\n").command == "CONNECTED"
    culprit = connected(broker)
    culprit.publish("/queue/broken", headers="receipt:sent\n")
    error = culprit.frame()
    assert error.command == "ERROR" and "internal error" in error.headers["message"]
    assert culprit.session.closing and culprit.session not in broker.sessions()
    bystander.send("SUBSCRIBE\nid:1\ndestination:/topic/on\nreceipt:subscribed\n\n\x00")
    connected(broker).publish("/topic/on", "delivered")
    assert [frame.command for frame in bystander.frames()] == ["RECEIPT", "MESSAGE"]
    clock.advance(1.0)
    broker.tick()
    assert bystander.raw() == b"\n"  # its heart-beat


def test_duplicate_subscription_id_is_an_error(broker: Broker) -> None:
    client = connected(broker)
    client.subscribe("/topic/a", sid="same")
    client.subscribe("/topic/b", sid="same")
    assert "already in use" in client.frame().headers["message"]


def test_subscription_limit(broker: Broker) -> None:
    client = Client(make_broker(limits={"max_subscriptions_per_connection": 1}))
    client.connect()
    client.subscribe("/topic/a", sid="1")
    client.subscribe("/topic/b", sid="2")
    assert "max_subscriptions_per_connection=1" in client.frame().headers["message"]


def test_a_thousand_wildcard_subscribes_cost_one_permission_check_per_destination() -> None:
    clock = Clock()
    games = tuple(f"/topic/games.{n}.*" for n in range(20))
    grant = issue_token(
        secret=SECRET, subject="player:7", read=games, write=(), ttl_seconds=60, now=clock.wall
    )
    client = Client(make_broker(clock))
    assert client.connect(login="token", passcode=grant).command == "CONNECTED"
    destinations = [f"/topic/games.7.room{n % 10}.#" for n in range(1000)]
    before = glob_covers_topic_pattern.cache_info()
    client.send(
        "".join(
            f"SUBSCRIBE\nid:{n}\ndestination:{destination}\n\n\x00"
            for n, destination in enumerate(destinations)
        )
    )
    while len(client.session.subscriptions) < len(destinations) and not client.session.closing:
        client.flush()
    after = glob_covers_topic_pattern.cache_info()
    checks = after.hits + after.misses - before.hits - before.misses
    assert len(client.session.subscriptions) == 1000
    assert checks <= len(set(destinations))


def test_frames_sent_at_once_are_handled_a_turn_at_a_time_so_others_are_served_between(
    broker: Broker,
) -> None:
    flood, other = connected(broker), connected(broker)
    flood.send("".join(f"SUBSCRIBE\nid:{n}\ndestination:/topic/t{n}\n\n\x00" for n in range(1000)))
    assert 0 < len(flood.session.subscriptions) < 1000 and flood.session.reading_paused
    other.publish("/topic/elsewhere", headers="receipt:mine\n")
    assert other.frame().headers["receipt-id"] == "mine"
    turns = 1
    while len(flood.session.subscriptions) < 1000:
        flood.flush()  # what the transport does on the session's signal, once per loop turn
        turns += 1
    assert turns > 1 and not flood.session.reading_paused


def test_queue_message_limit() -> None:
    broker = make_broker(limits={"max_queue_messages": 1})
    client = connected(broker)
    client.publish("/queue/full")
    client.publish("/queue/full")
    assert "limits.max_queue_messages=1" in client.frame().headers["message"]


# Permissions and tokens


def test_reader_may_subscribe_where_allowed_but_not_send(broker: Broker) -> None:
    reader = Client(broker)
    reader.connect(login="reader")
    reader.subscribe("/topic/public.news")
    reader.publish("/topic/public.news")
    error = reader.frame()
    assert "'reader' may not send to /topic/public.news" in error.headers["message"]
    assert broker.counters.messages_in == 0


def test_refused_subscriber_never_receives(broker: Broker) -> None:
    reader = Client(broker)
    reader.connect(login="reader")
    reader.subscribe("/topic/private.news")
    assert "may not subscribe to /topic/private.news" in reader.frame().headers["message"]
    connected(broker).publish("/topic/private.news")
    assert reader.frames() == []


def token(clock: Clock, ttl: int = 60, secret: str = SECRET) -> str:
    return issue_token(
        secret=secret,
        subject="player:7",
        read=("/topic/games.42.*",),
        write=(),
        ttl_seconds=ttl,
        now=clock.wall,
    )


def test_token_grants_exactly_its_scopes() -> None:
    clock, broker, browser = on_a_clock()
    assert browser.connect(login="token", passcode=token(clock)).command == "CONNECTED"
    assert browser.session.login == "player:7"
    browser.subscribe("/topic/games.42.status")
    browser.subscribe("/topic/games.43.status", sid="2")
    assert "may not subscribe to /topic/games.43.status" in browser.frame().headers["message"]


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [("/topic/games.42.*", True), ("/topic/games.42.#", False), ("/topic/games.*.status", False)],
)
def test_token_scope_allows_a_wildcard_only_within_it(pattern: str, allowed: bool) -> None:
    clock, broker, browser = on_a_clock()
    browser.connect(login="token", passcode=token(clock))
    browser.subscribe(pattern)
    connected(broker).publish("/topic/games.42", "outside the scope")
    if allowed:
        assert browser.frames() == []
    else:
        assert f"may not subscribe to {pattern}" in browser.frame().headers["message"]


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [("/topic/room.a", True), ("/topic/room.*", False), ("/topic/room.#", False)],
)
def test_read_glob_allows_a_wildcard_only_within_it(pattern: str, allowed: bool) -> None:
    broker = make_broker(
        users=(User("roomer", GUEST_HASH, Permissions(read=("/topic/room.?",), write=())),)
    )
    client = Client(broker)
    client.connect(login="roomer")
    client.subscribe(pattern)
    if allowed:
        assert client.frames() == []
    else:
        assert f"may not subscribe to {pattern}" in client.frame().headers["message"]


@pytest.mark.parametrize("scope", [5, 1.5, True, {"read": "*"}, [5], ["ok", None]])
def test_token_whose_scope_is_not_strings_is_refused_with_an_error(scope: object) -> None:
    clock = Clock()
    claims = {"sub": "ann", "aud": "broker", "exp": int(clock.wall) + 60, "scope": scope}
    client = Client(make_broker(clock))
    error = client.connect(login="token", passcode=jwt.encode(claims, SECRET, algorithm="HS256"))
    assert error.command == "ERROR" and "scope" in error.headers["message"]
    assert client.session.closing


@pytest.mark.parametrize(
    ("ttl", "secret", "reason"),
    [(60, "another-secret-that-is-long-enough-too", "signature"), (-60, SECRET, "expired")],
)
def test_forged_or_expired_token_is_refused(ttl: int, secret: str, reason: str) -> None:
    clock = Clock()
    error = Client(make_broker(clock)).connect(passcode=token(clock, ttl, secret))
    assert error.command == "ERROR" and reason in error.headers["message"]


def test_token_that_expires_while_connected_stops_new_subscriptions() -> None:
    clock, broker, browser = on_a_clock()
    browser.connect(passcode=token(clock, ttl=30))
    clock.advance(31)
    browser.subscribe("/topic/games.42.status")
    assert "token expired" in browser.frame().headers["message"]


# Heart-beats


def test_heart_beats_are_negotiated_as_the_max_of_both_sides() -> None:
    clock, broker, client = on_a_clock()
    connected_frame = client.connect(extra="heart-beat:0,5000\n")
    assert connected_frame.headers["heart-beat"] == "1000,1000"
    clock.advance(2.6)
    broker.tick()
    assert client.raw() == b""  # the client asked for beats every 5 s, not every 1 s
    clock.advance(2.6)
    broker.tick()
    assert client.raw() == b"\n"


def test_heart_beats_go_out_at_the_negotiated_interval_not_half_of_it() -> None:
    clock, broker, client = on_a_clock()
    client.connect(extra="heart-beat:0,5000\n")
    beats = []
    for _ in range(40):
        clock.advance(0.5)
        broker.tick()
        beats.append(client.raw())
    assert beats == ([b""] * 9 + [b"\n"]) * 4


@pytest.mark.parametrize("idle", [10, 2000])
def test_a_tick_visits_only_the_sessions_that_are_due(idle: int) -> None:
    clock = Clock()
    broker = make_broker(clock, allow_anonymous=True)
    connect = "CONNECT\naccept-version:1.2\nheart-beat:10000,10000\n\n\x00"
    due = Client(broker)
    due.send(connect)
    due.raw()
    clock.advance(5)
    for _ in range(idle):
        Client(broker).send(connect)
    clock.advance(5.1)
    assert broker.tick() == 1
    assert due.raw() == b"\n"


def closed_between(
    clock: Clock, broker: Broker, client: Client, still_open: float, closed: float
) -> Frame:
    """The client is still served `still_open` seconds from now and cut by `closed`: the
    ERROR frame it got."""
    clock.advance(still_open)
    broker.tick()
    assert not client.session.closing
    clock.advance(closed - still_open)
    broker.tick()
    return client.frame()


def test_token_expiry_closes_the_connection_with_an_error() -> None:
    clock, broker, browser = on_a_clock()
    browser.connect(passcode=token(clock, ttl=30))
    browser.subscribe("/topic/games.42.status")
    error = closed_between(clock, broker, browser, 29.9, 30.1)
    assert "token expired" in error.headers["message"]
    assert broker.stats()["subscriptions"] == {}


def test_silent_client_is_closed_after_the_grace_period() -> None:
    clock, broker, client = on_a_clock()
    client.connect(extra="heart-beat:1000,0\n")
    error = closed_between(clock, broker, client, 1.4, 3.1)
    assert "no heart-beat from the client" in error.headers["message"]


def test_client_that_never_connects_is_closed() -> None:
    clock, broker, client = on_a_clock()
    clock.advance(11)
    broker.tick()
    assert "no CONNECT frame" in client.frame().headers["message"]


def test_a_connect_leaves_no_deadline_behind_without_heart_beats() -> None:
    clock, broker, waiting = on_a_clock()
    clock.advance(1)
    connected(broker)
    assert broker.next_deadline() == 1010.0  # the one still waiting for its CONNECT
    waiting.connect()
    assert broker.next_deadline() is None


def test_a_connect_timeout_still_closes_those_that_never_connect_among_many_that_did() -> None:
    clock = Clock()
    broker = make_broker(clock)
    early = [connected(broker) for _ in range(3)]
    silent = Client(broker)
    late = [connected(broker) for _ in range(3)]
    clock.advance(10)
    assert broker.tick() == 1
    assert "no CONNECT frame" in silent.frame().headers["message"]
    assert not any(client.session.closing for client in early + late)


# Slow consumers, stats, shutdown


def test_a_subscriber_above_high_water_never_pauses_its_publisher() -> None:
    # The site publishes every game over one connection: a phone of game 1 that stops
    # reading must not hold up game 2 (one stalled reader once paused every game).
    broker = make_broker(limits={"output_high_water_bytes": 1000})
    stalled, other = connected(broker), connected(broker)
    stalled.subscribe("/topic/games.1")
    other.subscribe("/topic/games.2")
    stalled.session.data_to_send()
    stalled.session.note_backlog(950)
    site = connected(broker)
    site.send(
        "SEND\ndestination:/topic/games.1\n\n" + "a" * 100 + "\x00"
        "SEND\ndestination:/topic/games.2\n\nnext question\x00"
    )
    assert [f.body for f in other.frames()] == [b"next question"]
    assert not site.session.reading_paused


def test_a_subscriber_above_high_water_still_gets_its_messages_until_it_is_cut() -> None:
    broker = make_broker(limits={"output_high_water_bytes": 1000})
    slow, fast, publisher = slow_and_fast(broker, backlog=950)
    publisher.publish("/topic/flood", "a" * 100)
    publisher.publish("/topic/flood", "b" * 100)
    assert [f.body for f in slow.frames()] == [b"a" * 100, b"b" * 100]
    assert [f.body for f in fast.frames()] == [b"a" * 100, b"b" * 100]
    assert slow.session.congested_since is not None and not slow.session.closing


def test_publisher_held_back_by_a_queue_is_not_closed_for_the_heart_beats_it_could_not_send() -> (
    None
):
    clock = Clock()
    broker = make_broker(
        clock, limits={"queue_high_water_messages": 1, "output_high_water_bytes": 1000}
    )
    consumer = connected(broker)
    consumer.subscribe("/queue/deep")
    consumer.session.note_backlog(1001)  # its socket is not draining
    publisher = Client(broker)
    publisher.connect(extra="heart-beat:1000,0\n")
    publisher.send("SEND\ndestination:/queue/deep\n\n1\x00SEND\ndestination:/queue/deep\n\n2\x00")
    for _ in range(4):
        clock.advance(1.0)
        broker.tick()
    assert publisher.session.reading_paused and not publisher.session.closing


def slow_and_fast(broker: Broker, *, backlog: int) -> tuple[Client, Client, Client]:
    """Two subscribers of /topic/flood, the slow one's socket holding `backlog` unsent bytes,
    and a publisher."""
    slow, fast = connected(broker), connected(broker)
    slow.subscribe("/topic/flood")
    fast.subscribe("/topic/flood")
    slow.session.data_to_send()
    slow.session.note_backlog(backlog)
    return slow, fast, connected(broker)


def test_subscriber_above_high_water_past_the_grace_period_is_cut_and_others_go_on() -> None:
    clock = Clock()
    broker = make_broker(clock, limits={"output_high_water_bytes": 1000})
    slow, fast, publisher = slow_and_fast(broker, backlog=950)
    publisher.publish("/topic/flood", "a" * 100)
    publisher.publish("/topic/flood", "b" * 100)
    clock.advance(4.9)
    broker.tick()
    assert not slow.session.closing
    clock.advance(0.2)
    broker.tick()
    publisher.flush()
    error = slow.frame()
    assert "slow consumer" in error.headers["message"]
    assert "limits.slow_consumer_grace_seconds=5" in error.headers["message"]
    assert [f.body for f in fast.frames()] == [b"a" * 100, b"b" * 100]
    assert broker.stats()["slow_consumers_dropped"] == 1


def receipts_left_unread(client: Client, count: int) -> None:
    """`count` SENDs with a RECEIPT each, which the client never reads."""
    client.send(
        "".join(f"SEND\ndestination:/topic/none\nreceipt:{n}\n\n\x00" for n in range(count))
    )


def test_a_client_that_stops_reading_its_receipts_is_cut_after_the_grace_period() -> None:
    clock = Clock()
    broker = make_broker(clock, limits={"output_high_water_bytes": 1000})
    client = connected(broker)
    receipts_left_unread(client, 100)
    assert client.session.reading_paused
    clock.advance(5.1)
    broker.tick()
    assert client.session.closing and "slow consumer" in (client.session.close_reason or "")
    assert broker.stats()["slow_consumers_dropped"] == 1


def test_an_error_past_max_output_buffer_bytes_goes_alone() -> None:
    clock = Clock()
    limits = {"output_high_water_bytes": 1000, "max_frame_bytes": 4000}
    broker = make_broker(clock, limits={**limits, "max_output_buffer_bytes": 5000})
    subscriber = Client(broker)
    subscriber.connect(extra="heart-beat:1000,0\n")
    subscriber.subscribe("/topic/t")
    publisher = connected(broker)
    for _ in range(3):  # about 1,610 bytes each: 4,840 waiting, nearly as much as may wait
        publisher.publish("/topic/t", "x" * 1500)
    clock.advance(1.6)  # past 1 s x heartbeat_grace: it gets an ERROR
    broker.tick()
    assert [f.command for f in subscriber.frames()] == ["ERROR"]


def test_heart_beat_deadline_holds_while_reading_is_paused_for_the_clients_own_output() -> None:
    clock = Clock()
    broker = make_broker(clock, limits={"output_high_water_bytes": 1000})
    client = Client(broker)
    client.connect(extra="heart-beat:1000,0\n")
    receipts_left_unread(client, 100)
    for _ in range(3):  # within slow_consumer_grace_seconds, past 1 s x heartbeat_grace
        clock.advance(1.0)
        broker.tick()
    assert client.session.closing
    assert "no heart-beat" in (client.session.close_reason or "")


def test_subscriber_past_max_output_buffer_bytes_is_cut_at_once() -> None:
    broker = make_broker(limits={"max_output_buffer_bytes": 1000})
    slow, fast, publisher = slow_and_fast(broker, backlog=900)
    publisher.publish("/topic/flood", "x" * 100)
    assert fast.frame().body == b"x" * 100
    assert "limits.max_output_buffer_bytes=1000" in slow.frame().headers["message"]
    assert broker.stats()["slow_consumers_dropped"] == 1


def test_a_cut_consumer_is_aborted_and_counts_as_closing_until_its_socket_is_gone() -> None:
    broker = make_broker(limits={"max_output_buffer_bytes": 1000})
    slow, _, publisher = slow_and_fast(broker, backlog=900)
    publisher.publish("/topic/flood", "x" * 100)
    assert slow.session.cut  # its transport resets the socket: it would not read an ERROR
    assert broker.stats()["connections"]["closing"] == 1
    slow.session.connection_lost("reset")
    assert broker.stats()["connections"]["closing"] == 0


def test_sockets_still_closing_count_against_max_connections() -> None:
    broker = make_broker(limits={"max_connections": 2})
    leaving = connected(broker)
    leaving.send("NONSENSE\n\n\x00")  # an ERROR; its socket is still open until written
    connected(broker)
    refused = Client(broker)
    assert "limits.max_connections=2" in refused.frame().headers["message"]
    leaving.session.connection_lost("closed")
    refused.session.connection_lost("closed")
    assert Client(broker).connect().command == "CONNECTED"


def test_drop_policy_skips_messages_but_keeps_the_connection() -> None:
    broker = make_broker(limits={"max_output_buffer_bytes": 1000, "slow_consumer_policy": "drop"})
    slow = connected(broker)
    slow.subscribe("/topic/flood")
    slow.session.data_to_send()
    slow.session.note_backlog(950)
    connected(broker).publish("/topic/flood", "x" * 100)
    assert not slow.session.closing and broker.stats()["messages_dropped"] == 1


def test_stats_count_connections_subscriptions_and_messages(broker: Broker) -> None:
    subscriber = connected(broker)
    subscriber.subscribe("/topic/s")
    Client(broker, transport="ws").connect()
    connected(broker).publish("/topic/s")
    stats = broker.stats()
    assert stats["connections"] == {"tcp": 2, "ws": 1, "total": 3, "closing": 0}
    assert stats["subscriptions"] == {"/topic/s": 1}
    assert (stats["messages_in"], stats["messages_out"]) == (1, 1)


def test_shutdown_tells_every_client(broker: Broker) -> None:
    clients = [connected(broker), connected(broker)]
    broker.shutdown()
    for client in clients:
        assert client.frame().headers["message"] == "broker shutting down"


def test_durable_store_keeps_unacked_messages_across_brokers(tmp_path: Path) -> None:
    store = Store(kind="sqlite", directory=tmp_path)
    first = make_broker(store=store)
    consumer = connected(first)
    consumer.subscribe("/queue/durable", ack="client")
    connected(first).publish("/queue/durable", "survives")
    assert consumer.frame().body == b"survives"
    first.shutdown()
    second = make_broker(store=store)
    consumer = connected(second)
    consumer.subscribe("/queue/durable")
    assert consumer.frame().body == b"survives"


def test_a_timer_that_fails_unexpectedly_ends_only_its_own_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in one session's timer (a heart-beat or a deadline due at the same tick as
    another's) ends that connection with an ERROR; the other still gets its heart-beat."""
    clock = Clock()
    broker = make_broker(clock)
    culprit = Client(broker)
    assert culprit.connect(extra="heart-beat:0,1000\n").command == "CONNECTED"
    bystander = Client(broker)
    assert bystander.connect(extra="heart-beat:0,1000\n").command == "CONNECTED"

    on_timer = Session.on_timer

    def broken_for_the_culprit(session: Session, now: float) -> None:
        if session is culprit.session:
            raise RuntimeError("a bug in a timer")
        on_timer(session, now)

    monkeypatch.setattr(Session, "on_timer", broken_for_the_culprit)
    clock.advance(1.0)
    broker.tick()
    error = culprit.frame()
    assert error.command == "ERROR" and "internal error" in error.headers["message"]
    assert culprit.session not in broker.sessions()
    assert bystander.raw() == b"\n"  # its heart-beat, at the same tick
