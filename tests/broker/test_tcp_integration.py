"""stomp.py 9.0.0 over TCP against a real broker process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stomp
from inbox import Inbox, stomp_connection
from real_broker import BrokerProcess, get_json

# Three of the broker's beats at 1 s span twice its 1.5 s window for the client's beats.
BROKER_BEATS = 3


@pytest.fixture
def client(broker_process: BrokerProcess) -> Iterator[tuple[stomp.Connection, Inbox]]:
    conn, inbox = stomp_connection(broker_process.tcp_port)
    yield conn, inbox
    if conn.is_connected():
        conn.disconnect()


def test_subscriber_receives_what_is_sent(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.basic", id="1")
    conn.send("/topic/tcp.basic", "hello", receipt="sent")
    assert inbox.next_receipt() == "sent"
    assert inbox.next_message().body == "hello"


def test_receipt_for_subscribe(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/queue/tcp.receipt", id="1", headers={"receipt": "r-1"})
    assert inbox.next_receipt() == "r-1"


def test_heart_beats_both_ways_keep_an_idle_connection_open(
    broker_process: BrokerProcess,
) -> None:
    conn, inbox = stomp_connection(broker_process.tcp_port, heartbeats=(1000, 1000))
    for _ in range(BROKER_BEATS):
        inbox.heartbeats.get(timeout=5.0)
    conn.send("/topic/tcp.beats", "still open", receipt="alive")
    assert inbox.next_receipt() == "alive"
    assert inbox.errors.empty() and not inbox.disconnected.is_set()
    conn.disconnect()


def settled_for_good(broker_process: BrokerProcess, queue: str, ack: str) -> bool:
    """Whether a new consumer of `queue` gets a marker sent now as its first message: nothing
    of what an earlier consumer took is redelivered ahead of it."""
    conn, inbox = stomp_connection(broker_process.tcp_port)
    conn.subscribe(queue, id="1", ack=ack, headers={"receipt": "subscribed"})
    assert inbox.next_receipt() == "subscribed"
    conn.send(queue, "marker")
    first = inbox.next_message()
    conn.ack(first.headers["message-id"], subscription="1")
    conn.disconnect()
    return first.body == "marker"


def consuming(
    client: tuple[stomp.Connection, Inbox], queue: str, ack: str, *bodies: str
) -> tuple[stomp.Connection, Inbox]:
    """The client subscribed to `queue` in ack mode `ack` (subscription "1"), and `bodies`
    sent to it."""
    conn, inbox = client
    conn.subscribe(queue, id="1", ack=ack)
    for body in bodies:
        conn.send(queue, body)
    return conn, inbox


def test_client_ack_mode_redelivers_nacked_message_until_it_is_acked(
    client: tuple[stomp.Connection, Inbox], broker_process: BrokerProcess
) -> None:
    conn, inbox = consuming(client, "/queue/tcp.nack", "client", "again")
    first = inbox.next_message()
    conn.nack(first.headers["message-id"], subscription="1")
    second = inbox.next_message()
    assert second.body == "again"
    conn.ack(second.headers["message-id"], subscription="1")
    conn.disconnect()
    assert settled_for_good(broker_process, "/queue/tcp.nack", "client")


def test_client_individual_ack_leaves_nothing_to_redeliver(
    client: tuple[stomp.Connection, Inbox], broker_process: BrokerProcess
) -> None:
    conn, inbox = consuming(client, "/queue/tcp.individual", "client-individual", "one", "two")
    frames = [inbox.next_message(), inbox.next_message()]
    for frame in frames:
        conn.ack(frame.headers["message-id"], subscription="1")
    conn.disconnect()  # what is still unacknowledged goes back to the queue
    assert sorted(frame.body for frame in frames) == ["one", "two"]
    assert settled_for_good(broker_process, "/queue/tcp.individual", "client-individual")


@pytest.mark.parametrize("ack", ["client", "client-individual"])
def test_unacked_messages_come_back_in_their_order_after_a_disconnect(
    broker_process: BrokerProcess, ack: str
) -> None:
    queue = f"/queue/tcp.order.{ack}"
    bodies = [f"m{n}" for n in range(5)]
    leaver, inbox = stomp_connection(broker_process.tcp_port)
    leaver.subscribe(queue, id="1", ack=ack)
    for body in bodies:
        leaver.send(queue, body)
    assert [inbox.next_message().body for _ in bodies] == bodies
    leaver.disconnect()  # nothing acknowledged: all five go back to the queue
    stayer, inbox = stomp_connection(broker_process.tcp_port)
    stayer.subscribe(queue, id="1", ack="auto")
    assert [inbox.next_message().body for _ in bodies] == bodies
    stayer.disconnect()


def test_transaction_delivers_only_on_commit(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.tx", id="1")
    tx = conn.begin()
    conn.send("/topic/tcp.tx", "in tx", transaction=tx)
    conn.send("/topic/tcp.tx", "outside")
    assert inbox.next_message().body == "outside"
    conn.commit(tx)
    assert inbox.next_message().body == "in tx"


def test_aborted_transaction_delivers_nothing(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.abort", id="1")
    tx = conn.begin()
    conn.send("/topic/tcp.abort", "dropped", transaction=tx)
    conn.abort(tx)
    conn.send("/topic/tcp.abort", "after")
    assert inbox.next_message().body == "after"


def test_disconnect_with_receipt_gets_the_receipt(broker_process: BrokerProcess) -> None:
    conn, inbox = stomp_connection(broker_process.tcp_port)
    conn.disconnect(receipt="bye")
    assert inbox.next_receipt() == "bye"
    assert not conn.is_connected()


def test_healthz_says_ok(broker_process: BrokerProcess) -> None:
    assert get_json(f"{broker_process.http_url}/healthz") == {"status": "ok"}


def test_stats_count_the_messages_in_and_out(
    client: tuple[stomp.Connection, Inbox], broker_process: BrokerProcess
) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.stats", id="1", headers={"receipt": "subscribed"})
    assert inbox.next_receipt() == "subscribed"
    before = broker_process.stats()
    conn.send("/topic/tcp.stats", "counted")
    inbox.next_message()
    after = broker_process.stats()
    counted = {key: after[key] - before[key] for key in ("messages_in", "messages_out")}
    assert counted == {"messages_in": 1, "messages_out": 1}
    assert after["connections"]["tcp"] >= 1


def test_a_1_2_publisher_cannot_forge_frames_for_a_stomp_py_1_0_subscriber(
    broker_process: BrokerProcess,
) -> None:
    subscriber = stomp.Connection10([("127.0.0.1", broker_process.tcp_port)])
    inbox = Inbox()
    subscriber.set_listener("inbox", inbox)
    subscriber.connect("guest", "guest", wait=True)
    subscriber.subscribe("/topic/inject", headers={"receipt": "ready"})
    assert inbox.next_receipt() == "ready"
    publisher, _ = stomp_connection(broker_process.tcp_port)
    forged = "a\r\n\r\nERROR\nmessage:forged\n\nMESSAGE\ndestination:/topic/inject\n\nforged"
    publisher.send("/topic/inject", "real", headers={"x-note": forged})
    publisher.send("/topic/inject", "after")
    received = [inbox.next_message(), inbox.next_message()]
    assert [frame.body for frame in received] == ["real", "after"]
    assert inbox.errors.empty()
    publisher.disconnect()
    subscriber.disconnect()
