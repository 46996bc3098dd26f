"""HTTP subscribers' answers that their clients leave unread, with the broker in this process
so that a test can see what it still holds once the client is gone."""

from __future__ import annotations

import asyncio
import gc
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from real_broker import free_port
from stomp_bytes import SECRET
from websockets.http11 import Response

from broker.config import BrokerConfig, History, Limits, Listener, Tokens
from broker.destinations import parse_destination
from broker.server import BrokerServer
from broker.tokens import issue_token

TOPIC = "/topic/big.1"
MESSAGE_BYTES = 500_000
ANSWER_LIMIT = 1_000_000  # less than one answer of three messages: the next request waits


def request(port: int, offset: int) -> bytes:
    token = issue_token(secret=SECRET, subject="phone", read=(TOPIC,), write=(), ttl_seconds=60)
    query = urlencode({"destination": TOPIC, "offset": offset, "access_token": token})
    return f"GET /poll?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


async def status_of(port: int, offset: int) -> bytes:
    """The status line of a /poll of TOPIC at `offset` by a client that reads its answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request(port, offset))
    status = await reader.readline()
    writer.close()
    return status.strip()


async def a_client_that_leaves_its_answer_unread() -> tuple[bytes, int, list[int], bytes]:
    """The status of a request while the unread answer is held; the bytes held and the large
    Responses still alive once its client has gone (with the garbage collector off); the
    status of a request after that."""
    config = BrokerConfig(
        tcp=None,
        ws=Listener("127.0.0.1", free_port()),
        tokens=Tokens(secret=SECRET),
        history=(History(pattern="/topic/big.*", max_bytes_per_topic=1 << 23),),
        limits=Limits(max_http_answer_bytes=ANSWER_LIMIT),
    )
    port = config.ws.port  # type: ignore[union-attr]
    server = BrokerServer(config)
    await server.start()
    gc.disable()
    try:
        for _ in range(3):
            server.broker.publish(parse_destination(TOPIC), TOPIC, [], b"x" * MESSAGE_BYTES)
        log = server.broker.history.log_to_read("big.1")
        assert log is not None
        first = log.entries[0][0]
        departing = socket.socket()
        departing.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        departing.connect(("127.0.0.1", port))
        departing.sendall(request(port, first))
        for _ in range(600):  # until its answer is held
            if server.http_subscribers.answer_bytes:
                break
            await asyncio.sleep(0.01)
        while_held = await status_of(port, first)
        departing.close()  # gone, its answer unread
        for _ in range(600):
            if not server.http_subscribers.answer_bytes:
                break
            await asyncio.sleep(0.01)
        alive = [  # type(), not isinstance(): a dead weak proxy raises on the latter
            len(response.body)
            for response in gc.get_objects()
            if type(response) is Response and len(response.body) > MESSAGE_BYTES
        ]
        held = server.http_subscribers.answer_bytes
        return while_held, held, alive, await status_of(port, first)
    finally:
        gc.enable()
        await server.stop()


def test_an_answer_left_unread_counts_against_the_limit_and_is_freed_when_its_client_leaves() -> (
    None
):
    with ThreadPoolExecutor(1) as thread:
        while_held, held, alive, after = thread.submit(
            asyncio.run, a_client_that_leaves_its_answer_unread()
        ).result()
    assert while_held.startswith(b"HTTP/1.1 503")
    assert (held, alive) == (0, [])
    assert after.startswith(b"HTTP/1.1 200")
