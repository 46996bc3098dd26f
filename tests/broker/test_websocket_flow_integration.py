"""The WebSocket adapter's flow control, with the broker in this process so that a test can
shrink the server side's socket buffer and watch the session."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from real_broker import free_port
from stomp_bytes import GUEST_HASH
from websockets.asyncio.client import connect

from broker.config import BrokerConfig, Limits, Listener, User
from broker.server import BrokerServer

# 1.5 MiB, through the client's 64 KiB receive buffer: the broker's socket backs up, above
# high water and below max_output_buffer_bytes (past it the subscriber would be cut at once:
# its publisher does not wait for it).
FRAMES = 12
BODY = b"a" * 131072


async def subscriber_that_drains_while_sending_nothing() -> int:
    config = BrokerConfig(
        tcp=Listener("127.0.0.1", free_port()),
        ws=Listener("127.0.0.1", free_port()),
        users=(User("guest", GUEST_HASH),),
        limits=Limits(
            max_frame_bytes=1 << 20,
            output_high_water_bytes=1 << 16,
            max_output_buffer_bytes=1 << 21,
            # long enough that a loaded machine drains well within it; without the drain
            # notice the subscriber stays congested, and is cut, all the same
            slow_consumer_grace_seconds=5.0,
        ),
    )
    server = BrokerServer(config)
    await server.start()
    try:
        url = f"ws://127.0.0.1:{config.ws.port}/ws"  # type: ignore[union-attr]
        # A fixed receive buffer: the broker's socket backs up after 64 KiB, whatever the
        # kernel's autotuning (up to 32 MiB here) would let the client's socket take.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        sock.connect(("127.0.0.1", config.ws.port))  # type: ignore[union-attr]
        # max_queue=1: the client stops reading its socket while one message waits in it.
        async with connect(
            url, sock=sock, subprotocols=["v12.stomp"], max_size=None, max_queue=1
        ) as ws:  # type: ignore[list-item]
            await ws.send(
                "CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"
            )
            await ws.recv()
            await ws.send("SUBSCRIBE\nid:1\ndestination:/topic/drain\nreceipt:r\n\n\x00")
            await ws.recv()
            (connection,) = server.ws_connections
            server_socket = connection.websocket.transport.get_extra_info("socket")
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            reader, writer = await asyncio.open_connection("127.0.0.1", config.tcp.port)  # type: ignore[union-attr]
            writer.write(b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\x00")
            # Its frames wait for CONNECTED: a broker takes at most max_frame_bytes while it
            # checks the passcode, and on a loaded machine the check can take that long.
            await reader.readuntil(b"\x00")
            frame = b"SEND\ndestination:/topic/drain\n\n" + BODY + b"\x00"
            writer.write(frame * FRAMES)
            for _ in range(2000):  # until the subscriber fell behind
                if connection.session.congested_since is not None:
                    break
                await asyncio.sleep(0.01)
            assert connection.session.congested_since is not None, "never fell behind"
            received = 0
            while received < FRAMES:  # now it reads steadily, and sends nothing
                message = await asyncio.wait_for(ws.recv(), 10)
                received += str(message).count("MESSAGE\n")
            writer.close()
            return server.broker.counters.slow_consumers_dropped
    finally:
        await server.stop()


# Pings of the largest payload a control frame may carry, masked with zeros (the payload goes
# as it is): each makes the broker queue a 127-byte pong.
PING = bytes((0x89, 0x80 | 125)) + b"\0\0\0\0" + b"p" * 125
PINGS_PER_WRITE = 500
MAX_OUTPUT = 1 << 18


async def client_that_pings_and_never_reads() -> tuple[int, int]:
    """The broker's most queued bytes for a client that sends pings and reads nothing (until
    the broker cuts it, or 8 MiB of pongs), and the slow consumers it cut."""
    config = BrokerConfig(
        tcp=None,
        ws=Listener("127.0.0.1", free_port()),
        users=(User("guest", GUEST_HASH),),
        limits=Limits(
            max_frame_bytes=1 << 16,
            output_high_water_bytes=1 << 16,
            max_output_buffer_bytes=MAX_OUTPUT,
        ),
    )
    server = BrokerServer(config)
    await server.start()
    try:
        port = config.ws.port  # type: ignore[union-attr]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        (connection,) = server.ws_connections
        server_socket = connection.websocket.transport.get_extra_info("socket")
        server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        most_queued = 0
        for _ in range((8 << 20) // (127 * PINGS_PER_WRITE)):
            if connection.websocket.transport.is_closing():
                break
            writer.write(PING * PINGS_PER_WRITE)
            try:
                await writer.drain()
            except ConnectionError:
                break  # the broker cut it
            await asyncio.sleep(0)  # the broker reads them and queues the pongs
            queued = connection.websocket.transport.get_write_buffer_size()
            most_queued = max(most_queued, queued)
        writer.close()
        return most_queued, server.broker.counters.slow_consumers_dropped
    finally:
        await server.stop()


def test_websocket_client_that_pings_and_never_reads_is_cut_at_the_output_limit() -> None:
    with ThreadPoolExecutor(1) as thread:
        most_queued, cut = thread.submit(asyncio.run, client_that_pings_and_never_reads()).result()
    # Past the limit by at most the pongs to one write of pings, read at once.
    assert most_queued <= MAX_OUTPUT + 127 * PINGS_PER_WRITE
    assert cut == 1


def test_websocket_subscriber_that_drains_while_sending_nothing_is_not_cut() -> None:
    # A thread of its own: Playwright's sync API may keep an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        dropped = thread.submit(asyncio.run, subscriber_that_drains_while_sending_nothing())
        assert dropped.result() == 0
