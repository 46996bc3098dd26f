"""Flow control over real sockets: bursts reach readers that keep up, queues lose nothing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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


def test_fifty_thousand_messages_in_full_speed_bursts_reach_every_reader(
    broker: BrokerProcess,
) -> None:
    # Bursts of 5 MB, each within what the kernel and max_output_buffer_bytes hold for a
    # reader: a publisher never waits for its topic's readers, so a longer burst than a
    # reader can hold would cut it as a slow consumer.
    readers = [subscriber(broker, "/topic/burst") for _ in range(3)]
    counts = [0] * len(readers)

    def read(index: int) -> None:
        for _ in range(50_000):
            if readers[index].next_frame().command == "MESSAGE":
                counts[index] += 1

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
    for thread in threads:
        thread.start()
    publisher = RawStomp(broker.tcp_port)
    publisher.connect()
    for sent in range(5_000, 50_001, 5_000):
        publisher.send(sends("/topic/burst", iter([b"x" * 1024] * 5_000)))
        until(lambda sent=sent: min(counts) >= sent, f"{sent} reached every reader")
    for thread in threads:
        thread.join()
    publisher.close()
    assert counts == [50_000] * len(readers)
    assert broker.stats()["slow_consumers_dropped"] == 0


# Small output limits, so that a reader that never reads is cut within a few MiB.
CUT_TOML = (
    STATS_TOML
    + "[limits]\nmax_frame_bytes = 65536\noutput_high_water_bytes = 65536\n"
    + "max_output_buffer_bytes = 1048576\n"
)


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; a bounded number of tries, not a time measured."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def how_it_ends(sock: socket.socket) -> str:
    """Read everything until the broker closes: "eof" (a graceful close, after every byte
    queued for it) or "reset" (an abort, which dropped them)."""
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return "reset"
    return "eof"


def test_a_cut_consumer_is_reset_and_counted_as_closing_until_its_socket_is_gone(
    tmp_path: Path,
) -> None:
    with start_broker(tmp_path, toml=CUT_TOML) as broker:
        reader = RawStomp(broker.tcp_port, receive_buffer=4096)  # and never reads
        reader.connect()
        reader.send("SUBSCRIBE\nid:1\ndestination:/topic/flood\nreceipt:ready\n\n\x00")
        assert reader.next_frame().headers["receipt-id"] == "ready"
        # 12 MB: more than the kernel's buffers (4 MiB at most) and max_output_buffer_bytes.
        writer = publish_in_background(broker, sends("/topic/flood", iter([b"x" * 60_000] * 200)))
        until(lambda: broker.stats()["slow_consumers_dropped"] == 1, "the reader was cut")
        writer.join()
        assert how_it_ends(reader.sock) == "reset"
        until(lambda: broker.stats()["connections"]["closing"] == 0, "its socket is gone")
        reader.close()
