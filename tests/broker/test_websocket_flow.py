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

# 8 MiB, through the client's 64 KiB receive buffer: the broker's socket backs up.
FRAMES = 64
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


def test_websocket_subscriber_that_drains_while_sending_nothing_is_not_cut() -> None:
    # A thread of its own: Playwright's sync API may keep an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        dropped = thread.submit(asyncio.run, subscriber_that_drains_while_sending_nothing())
        assert dropped.result() == 0
