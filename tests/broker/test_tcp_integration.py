"""stomp.py 9.0.0 over TCP against a real broker process."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest
import stomp
from real_broker import BrokerProcess, get_json
from stomp.utils import Frame

WAIT_SECONDS = 5.0


class Inbox(stomp.ConnectionListener):
    """Collects what the broker sends, so a test can wait for the next message or receipt."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Frame] = queue.Queue()
        self.receipts: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[Frame] = queue.Queue()
        self.disconnected = False

    def on_message(self, frame: Frame) -> None:
        self.messages.put(frame)

    def on_receipt(self, frame: Frame) -> None:
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame: Frame) -> None:
        self.errors.put(frame)

    def on_disconnected(self) -> None:
        self.disconnected = True

    def next_message(self) -> Frame:
        return self.messages.get(timeout=WAIT_SECONDS)

    def no_message(self) -> bool:
        try:
            self.messages.get(timeout=0.3)
        except queue.Empty:
            return True
        return False


def connect(
    broker: BrokerProcess, *, heartbeats: tuple[int, int] = (0, 0)
) -> tuple[stomp.Connection, Inbox]:
    conn = stomp.Connection([("127.0.0.1", broker.tcp_port)], heartbeats=heartbeats)
    inbox = Inbox()
    conn.set_listener("inbox", inbox)
    conn.connect("guest", "guest", wait=True)
    return conn, inbox


@pytest.fixture
def client(broker_process: BrokerProcess) -> Iterator[tuple[stomp.Connection, Inbox]]:
    conn, inbox = connect(broker_process)
    yield conn, inbox
    if conn.is_connected():
        conn.disconnect()


def test_subscriber_receives_what_is_sent(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.basic", id="1")
    conn.send("/topic/tcp.basic", "hello", receipt="sent")
    assert inbox.receipts.get(timeout=WAIT_SECONDS) == "sent"
    assert inbox.next_message().body == "hello"


def test_receipt_for_subscribe(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/queue/tcp.receipt", id="1", headers={"receipt": "r-1"})
    assert inbox.receipts.get(timeout=WAIT_SECONDS) == "r-1"


def test_heartbeats_keep_an_idle_connection_open(broker_process: BrokerProcess) -> None:
    conn, inbox = connect(broker_process, heartbeats=(200, 200))
    time.sleep(1.0)
    assert conn.is_connected() and not inbox.disconnected
    conn.disconnect()


def test_client_ack_mode_redelivers_nacked_message(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/queue/tcp.nack", id="1", ack="client")
    conn.send("/queue/tcp.nack", "again")
    first = inbox.next_message()
    conn.nack(first.headers["message-id"], subscription="1")
    second = inbox.next_message()
    assert second.body == "again"
    conn.ack(second.headers["message-id"], subscription="1")
    assert inbox.no_message()


def test_client_individual_ack_leaves_nothing_to_redeliver(
    client: tuple[stomp.Connection, Inbox],
) -> None:
    conn, inbox = client
    conn.subscribe("/queue/tcp.individual", id="1", ack="client-individual")
    conn.send("/queue/tcp.individual", "one")
    conn.send("/queue/tcp.individual", "two")
    frames = [inbox.next_message(), inbox.next_message()]
    for frame in frames:
        conn.ack(frame.headers["message-id"], subscription="1")
    assert sorted(frame.body for frame in frames) == ["one", "two"]


def test_transaction_delivers_only_on_commit(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.tx", id="1")
    tx = conn.begin()
    conn.send("/topic/tcp.tx", "in tx", transaction=tx)
    assert inbox.no_message()
    conn.commit(tx)
    assert inbox.next_message().body == "in tx"


def test_aborted_transaction_delivers_nothing(client: tuple[stomp.Connection, Inbox]) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.abort", id="1")
    tx = conn.begin()
    conn.send("/topic/tcp.abort", "dropped", transaction=tx)
    conn.abort(tx)
    assert inbox.no_message()


def test_disconnect_with_receipt(broker_process: BrokerProcess) -> None:
    conn, inbox = connect(broker_process)
    conn.disconnect(receipt="bye")
    assert not conn.is_connected()


def test_healthz_says_ok(broker_process: BrokerProcess) -> None:
    assert get_json(f"{broker_process.http_url}/healthz") == {"status": "ok"}


def test_stats_count_connections_and_messages(
    client: tuple[stomp.Connection, Inbox], broker_process: BrokerProcess
) -> None:
    conn, inbox = client
    conn.subscribe("/topic/tcp.stats", id="1")
    conn.send("/topic/tcp.stats", "counted")
    inbox.next_message()
    stats = get_json(f"{broker_process.http_url}/stats", "guest", "guest")
    assert stats["messages_in"] >= 1 and stats["messages_out"] >= 1
    assert "connections" in stats and "slow_consumers_dropped" in stats


def test_a_1_2_publisher_cannot_forge_frames_for_a_stomp_py_1_0_subscriber(
    broker_process: BrokerProcess,
) -> None:
    subscriber = stomp.Connection10([("127.0.0.1", broker_process.tcp_port)])
    inbox = Inbox()
    subscriber.set_listener("inbox", inbox)
    subscriber.connect("guest", "guest", wait=True)
    subscriber.subscribe("/topic/inject", headers={"receipt": "ready"})
    assert inbox.receipts.get(timeout=WAIT_SECONDS) == "ready"
    publisher, _ = connect(broker_process)
    forged = "a\r\n\r\nERROR\nmessage:forged\n\nMESSAGE\ndestination:/topic/inject\n\nforged"
    publisher.send("/topic/inject", "real", headers={"x-note": forged})
    publisher.send("/topic/inject", "after")
    received = [inbox.next_message(), inbox.next_message()]
    assert [frame.body for frame in received] == ["real", "after"]
    assert inbox.errors.empty() and inbox.no_message()
    publisher.disconnect()
    subscriber.disconnect()
