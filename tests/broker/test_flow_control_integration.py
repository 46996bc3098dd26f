"""Flow control over real sockets: bursts reach readers that keep up, queues lose nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from raw_stomp import RawStomp
from real_broker import STATS_TOML, BrokerProcess, start_broker

# A publisher thread that fails (no RECEIPT for its DISCONNECT) fails the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker with the default limits."""
    with start_broker(tmp_path_factory.mktemp("flow"), toml=STATS_TOML) as broker:
        yield broker


def subscriber(broker: BrokerProcess, destination: str) -> RawStomp:
    client = RawStomp(broker.tcp_port)
    client.connect()
    client.send(f"SUBSCRIBE\nid:1\ndestination:{destination}\nreceipt:ready\n\n\x00")
    assert client.next_frame().headers["receipt-id"] == "ready"
    return client


def sends(destination: str, bodies: Iterator[bytes]) -> bytes:
    return b"".join(b"SEND\ndestination:%s\n\n%s\x00" % (destination.encode(), b) for b in bodies)


def publish_in_background(broker: BrokerProcess, data: bytes) -> threading.Thread:
    """Write `data` after a CONNECT from another thread (the broker may slow its reading)."""
    publisher = RawStomp(broker.tcp_port)
    publisher.connect()

    def write() -> None:
        publisher.send(data)
        publisher.send("DISCONNECT\nreceipt:bye\n\n\x00")
        publisher.next_frame()
        publisher.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_ten_thousand_fast_sends_to_an_auto_ack_queue_all_arrive(broker: BrokerProcess) -> None:
    consumer = subscriber(broker, "/queue/fast")
    writer = publish_in_background(
        broker, sends("/queue/fast", (b"%0130d" % n for n in range(10_000)))
    )
    bodies = [consumer.next_frame().body for _ in range(10_000)]
    writer.join()
    assert bodies == [b"%0130d" % n for n in range(10_000)]
    counters = broker.stats()
    assert (counters["slow_consumers_dropped"], counters["messages_dropped"]) == (0, 0)


def test_two_600_kb_sends_in_one_write_reach_an_idle_subscriber(broker: BrokerProcess) -> None:
    reader = subscriber(broker, "/topic/big")
    writer = publish_in_background(broker, sends("/topic/big", iter([b"a" * 600_000] * 2)))
    assert [reader.next_frame().body for _ in range(2)] == [b"a" * 600_000] * 2
    writer.join()
    assert broker.stats()["slow_consumers_dropped"] == 0


def test_fifty_thousand_messages_at_full_speed_reach_every_reader(broker: BrokerProcess) -> None:
    readers = [subscriber(broker, "/topic/burst") for _ in range(3)]
    counts = [0] * len(readers)

    def read(index: int) -> None:
        for _ in range(50_000):
            if readers[index].next_frame().command == "MESSAGE":
                counts[index] += 1

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
    for thread in threads:
        thread.start()
    writer = publish_in_background(broker, sends("/topic/burst", iter([b"x" * 1024] * 50_000)))
    for thread in threads:
        thread.join()
    writer.join()
    assert counts == [50_000] * len(readers)
    assert broker.stats()["slow_consumers_dropped"] == 0
