"""Clients that send much and read nothing, or send much before they authenticate, cannot
grow the broker's memory without bound."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psutil
import pytest
from raw_stomp import raw_websocket, websocket_frames, ws_message
from real_broker import BrokerProcess, start_broker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from broker.client import connect_frame

MIB = 1024 * 1024
# RSS a broker may gain while one client pushes hundreds of MiB at it (the limits allow a few
# MiB of buffers per connection; the rest is allocator slack).
RSS_BOUND_BYTES = 64 * MIB


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with start_broker(tmp_path_factory.mktemp("memory")) as broker:
        yield broker


def rss(broker: BrokerProcess) -> int:
    return psutil.Process(broker.process.pid).memory_info().rss


def test_websocket_client_that_never_reads_its_receipts_is_not_read_either(
    broker: BrokerProcess,
) -> None:
    sock = raw_websocket(broker.ws_port, receive_buffer=4096)  # reads nothing after CONNECTED
    before = rss(broker)
    acks = b"".join(b"ACK\nid:t-1\nreceipt:%s\n\n\x00" % (b"r" * 8000) for _ in range(16))
    message = ws_message(acks)
    sock.settimeout(3.0)
    sent = 0
    try:
        for _ in range(40_000 // 16):  # 40,000 ACKs, 320 MiB of receipts to send back
            sock.sendall(message)
            sent += len(message)
    except TimeoutError:
        pass  # the broker stopped reading: what this test expects
    grown = rss(broker) - before
    sock.close()
    assert sent < 100 * MIB, f"the broker read {sent // MIB} MiB from a client that never reads"
    assert grown < RSS_BOUND_BYTES, f"RSS grew by {grown // MIB} MiB"


def test_unauthenticated_clients_sending_huge_connect_frames_get_an_error_naming_the_limit(
    broker: BrokerProcess,
) -> None:
    clients = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", broker.tcp_port))
        sock.settimeout(5.0)
        clients.append(sock)
    padding = b"".join(b"pad%d:%s\n" % (n, b"x" * 8000) for n in range(100))
    replies = []
    for sock in clients:
        sock.sendall(b"CONNECT\naccept-version:1.2\n" + padding[:65536])
        reply = b""
        while b"\x00" not in reply:
            reply += sock.recv(65536)
        replies.append(reply)
    for sock in clients:
        sock.close()
    assert all(b"limits.max_connect_frame_bytes=16384" in reply for reply in replies)


def test_websocket_message_larger_than_a_connect_before_connected_is_refused(
    broker: BrokerProcess,
) -> None:
    with ws_connect(broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send("CONNECT\naccept-version:1.2\nhost:/\n" + "x" * 100_000 + "\n\n\x00")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5.0)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_websocket_may_send_large_messages_once_connected(broker: BrokerProcess) -> None:
    with ws_connect(broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        frames = websocket_frames(ws)
        ws.send(connect_frame("guest", "guest"))
        assert next(frames).command == "CONNECTED"
        ws.send("SEND\ndestination:/topic/big\nreceipt:r\n\n" + "x" * MIB + "\x00")
        assert next(frames).command == "RECEIPT"
