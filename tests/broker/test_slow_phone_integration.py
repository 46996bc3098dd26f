"""One phone with 100 subscriptions on one connection, reading at 200 B/s,
delayed every phone and the host by seconds, until the broker cut it. Here it must not delay
them at all: each fast subscriber gets every message while the slow one is still connected."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from raw_stomp import RawStomp, raw_websocket, websocket_frames, ws_message
from real_broker import STATS_TOML, BrokerProcess, start_broker
from websockets.sync.client import connect

from broker.client import connect_frame

TOPIC = "/topic/games.7.leaderboard"
SLOW_SUBSCRIPTIONS = 100
# A leaderboard frame's size: 64 rounds put ~7 MB for the slow phone, more than the kernel
# buffers (4 MiB of send buffer at most) and output_high_water_bytes (1 MiB) together, so
# the broker holds it behind for most of the test, and less than that and
# max_output_buffer_bytes (8 MiB), so it is not cut for its size.
ROUNDS = 64
BODY = b"x" * 1000
# The slow phone stays congested for the whole test, whatever the machine's speed: it is
# never cut on a clock, so what the fast subscribers get cannot depend on when it would be.
TOML = STATS_TOML + "[limits]\nslow_consumer_grace_seconds = 3600\n"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    with start_broker(tmp_path, toml=TOML) as broker:
        yield broker


def subscribe_all(send: Callable[[bytes], object], count: int) -> None:
    """`count` subscriptions to TOPIC, the last with a receipt."""
    for number in range(count):
        receipt = "receipt:ready\n" if number == count - 1 else ""
        send(f"SUBSCRIBE\nid:{number}\ndestination:{TOPIC}\n{receipt}\n\x00".encode())


@contextlib.contextmanager
def reading_at_200_bytes_a_second(sock: socket.socket) -> Iterator[None]:
    """A phone on a link that takes 200 bytes a second."""
    stop = threading.Event()

    def read() -> None:
        with contextlib.suppress(OSError):
            while not stop.wait(0.1):
                if not sock.recv(20):
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        stop.set()
        reader.join()


def slow_tcp_phone(broker: BrokerProcess) -> socket.socket:
    phone = RawStomp(broker.tcp_port, receive_buffer=4096)
    phone.connect()
    subscribe_all(phone.send, SLOW_SUBSCRIPTIONS)
    assert phone.next_frame().headers["receipt-id"] == "ready"
    return phone.sock


def slow_websocket_phone(broker: BrokerProcess) -> socket.socket:
    sock = raw_websocket(broker.ws_port, receive_buffer=4096)
    subscribe_all(lambda frame: sock.sendall(ws_message(frame)), SLOW_SUBSCRIPTIONS)
    received = b""
    while b"receipt-id:ready" not in received:
        received += sock.recv(4096)
    return sock


@pytest.mark.parametrize("slow_phone", [slow_tcp_phone, slow_websocket_phone])
def test_a_slow_phone_with_many_subscriptions_delays_no_other_subscriber(
    broker: BrokerProcess, slow_phone: Callable[[BrokerProcess], socket.socket]
) -> None:
    with contextlib.ExitStack() as stack:
        fast_tcp = [RawStomp(broker.tcp_port) for _ in range(3)]
        for phone in fast_tcp:
            phone.connect()
            subscribe_all(phone.send, 1)
            assert phone.next_frame().headers["receipt-id"] == "ready"
        fast_ws = [
            stack.enter_context(connect(broker.ws_url, subprotocols=["v12.stomp"]))  # type: ignore[list-item]
            for _ in range(3)
        ]
        ws_frames = []
        for ws in fast_ws:
            ws.send(connect_frame("guest", "guest"))
            frames = websocket_frames(ws)
            assert next(frames).command == "CONNECTED"
            subscribe_all(ws.send, 1)
            assert next(frames).headers["receipt-id"] == "ready"
            ws_frames.append(frames)
        slow = slow_phone(broker)
        site = RawStomp(broker.tcp_port)  # the site publishes every game on one connection
        site.connect()
        with reading_at_200_bytes_a_second(slow):
            for number in range(ROUNDS):
                site.send(f"SEND\ndestination:{TOPIC}\nround:{number}\n\n".encode() + BODY + b"\0")
                # every fast subscriber has this round before the site says the next
                for frame in [p.next_frame() for p in fast_tcp] + [next(f) for f in ws_frames]:
                    assert frame.headers["round"] == str(number)
                assert broker.stats()["slow_consumers_dropped"] == 0, f"cut by round {number}"
            if slow_phone is slow_tcp_phone:  # /stats shows the TCP sockets' buffers only
                assert broker.stats()["transport"]["tcp_write_buffer_bytes"] > 1 << 20  # behind
        slow.close()
