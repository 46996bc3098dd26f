"""STOMP over WebSocket: websockets does the handshake, the reads, control frames and the
close; the frames a Session has for its client are written straight to the socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, NegotiationError
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from broker import http_subscribers
from broker.config import BrokerConfig
from broker.routing import Broker
from broker.session import Session
from broker.session import State as SessionState
from broker.transports.sockets import Flusher, log_closed, reset

log = logging.getLogger("broker")

# Highest version first: a client offering several gets the highest.
SUBPROTOCOLS = [Subprotocol("v12.stomp"), Subprotocol("v11.stomp"), Subprotocol("v10.stomp")]
OP_TEXT, OP_BINARY = 0x1, 0x2
# What a WebSocket connection keeps as its handshake request once the handshake is over.
HANDSHAKE_DONE = Request(path="", headers=Headers())


class WsConnection:
    """STOMP over WebSocket: the frames of one flush go out as one WebSocket message,
    written straight to the socket, without a task per send. websockets does the handshake,
    reads, control frames and the close; the listener negotiates no extensions, so a data
    frame is a short header and the payload."""

    # Slots, a bound method rather than a closure for the session's `on_output`, and no
    # `async for` (an async generator with the last message in its frame): together 0.6 KiB
    # of each idle connection.
    __slots__ = (
        "_closer",
        "_drainer",
        "_flusher",
        "_max_message_bytes",
        "_readable",
        "peer",
        "session",
        "websocket",
    )

    def __init__(self, broker: Broker, websocket: StompWebSocket, flusher: Flusher) -> None:
        self.websocket = websocket
        host, port = websocket.remote_address[:2]
        self.peer = f"{host}:{port}"
        self._flusher = flusher
        self._closer: asyncio.Task[None] | None = None
        self._readable: asyncio.Future[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self.session = broker.open_session(
            transport="ws", peer=self.peer, on_output=self._output_ready
        )
        websocket.session = self.session
        # Until CONNECT succeeds a message may be only as large as a CONNECT frame may be.
        self._max_message_bytes = broker.config.limits.max_frame_bytes + 1024
        websocket.protocol.max_message_size = broker.config.limits.max_connect_frame_bytes + 1024

    async def run(self) -> None:
        log.info("opened ws %s subprotocol=%s", self.peer, self.websocket.subprotocol)
        reason = "peer closed"
        try:
            while True:
                # No local keeps the message: the frame would hold it while the client idles.
                self._receive(await self.websocket.recv(decode=False))
                # Once a CONNECT has come: while its passcode is checked the session bounds
                # what it buffers, and the client may send the frames that follow it.
                if self.session.state in (SessionState.VERIFYING, SessionState.CONNECTED):
                    self.websocket.protocol.max_message_size = self._max_message_bytes
                await self._until_readable()
        except ConnectionClosedOK:
            pass  # a clean close: "peer closed", as the reason the session gave, if any
        except ConnectionClosed as error:
            reason = str(error)
        finally:
            log_closed("ws", self.peer, self.session, reason)
            self.session.connection_lost(self.session.close_reason or reason)
            if self._closer is not None:
                await self._closer

    def _output_ready(self) -> None:
        self._flusher.mark(self)

    def _receive(self, message: bytes) -> None:
        try:
            self.session.receive_data(message)
        except Exception as error:
            self.abort(error)

    def abort(self, error: BaseException) -> None:
        """A bug while serving this connection: the session logs it and says ERROR, which is
        written if it can be, and the connection closes (1011, internal error)."""
        if self._closer is not None or self.websocket.protocol.state is not State.OPEN:
            return
        self.session.crash(error, "serving its WebSocket")
        with contextlib.suppress(Exception):  # the write itself may be what failed
            self._write(self.session.data_to_send())
        self._closer = asyncio.create_task(self.websocket.close(1011, "internal error"))

    async def _until_readable(self) -> None:
        """Take no more messages while the session's reading is paused: websockets then stops
        reading the socket once its small queue (max_queue) is full, as TCP does."""
        lost = self.websocket.connection_lost_waiter
        while self.session.reading_paused and not self.session.closing and not lost.done():
            self._readable = asyncio.get_running_loop().create_future()
            await asyncio.wait((self._readable, lost), return_when=asyncio.FIRST_COMPLETED)
            self._readable = None

    async def _flush_when_drained(self) -> None:
        """What resume_writing() does for TCP: websockets owns the protocol's flow-control
        callbacks, so wait on its drain() and tell the session the socket took the bytes."""
        try:
            await self.websocket.drain()
        except Exception:  # the connection is gone with its error, which run() reports
            return
        finally:
            self._drainer = None
        self.flush()

    def flush(self) -> None:
        websocket = self.websocket
        if websocket.protocol.state is not State.OPEN or self._closer is not None:
            return
        self._write(self.session.data_to_send())
        self.session.note_backlog(websocket.transport.get_write_buffer_size())
        if websocket.paused and self._drainer is None:
            self._drainer = asyncio.create_task(self._flush_when_drained())
        if self._readable is not None and not self._readable.done():
            if not self.session.reading_paused:
                self._readable.set_result(None)
        if self.session.closing:
            if self.session.cut:  # a slow consumer: it would not read the close either
                reset(websocket.transport)
                return
            self._write(self.session.data_to_send())  # what held input ended with
            reason = (self.session.close_reason or "").encode()[:120].decode(errors="ignore")
            self._closer = asyncio.create_task(websocket.close(1000, reason))

    def _write(self, chunks: list[bytes]) -> None:
        """One unmasked, uncompressed data frame, its header written ahead of the shared
        message bytes: no copy of the payload per connection."""
        if chunks:
            opcode = OP_TEXT if _is_text(chunks) else OP_BINARY
            header = _frame_header(opcode, sum(map(len, chunks)))
            self.websocket.transport.writelines([header, *chunks])


class StompWebSocket(ServerConnection):
    """websockets' connection, which also writes to the socket by itself (a pong to each
    ping, a close frame): what it queues counts against the session's output limits as the
    session's own output does, so a client that pings and never reads is cut at
    `max_output_buffer_bytes` instead of growing the broker's memory without bound."""

    session: Session | None = None  # set by WsConnection once the handshake is over

    def send_data(self) -> None:
        super().send_data()
        session = self.session
        if session is not None and not session.note_transport_output(
            self.transport.get_write_buffer_size()
        ):
            reset(self.transport)


def _frame_header(opcode: int, length: int) -> bytes:
    """RFC 6455 header of a final, unmasked server frame."""
    if length < 126:
        return bytes((0x80 | opcode, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x80 | opcode, 126, length)
    return struct.pack("!BBQ", 0x80 | opcode, 127, length)


def _is_text(chunks: list[bytes]) -> bool:
    """STOMP frames go as text messages unless a body is not UTF-8 (then binary)."""
    if all(chunk.isascii() for chunk in chunks):
        return True
    try:
        b"".join(chunks).decode()
    except UnicodeDecodeError:
        return False
    return True


def select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """The highest STOMP version offered; offering none is STOMP too, as RabbitMQ takes it
    (`new WebSocket(url)`, as stompjs's `Stomp.over` and many clients do)."""
    if not offered:
        return None
    for subprotocol in SUBPROTOCOLS:
        if subprotocol in offered:
            return subprotocol
    raise NegotiationError(
        f"no STOMP sub-protocol offered: offer one of {', '.join(SUBPROTOCOLS)}, or none"
    )


async def listen(
    broker: Broker,
    config: BrokerConfig,
    flusher: Flusher,
    connections: set[WsConnection],
    *,
    answer_http: Callable[[ServerConnection, Request], Awaitable[Response | None]],
    context: ssl.SSLContext | None,
) -> Server:
    """The WebSocket listener of `config.ws`: STOMP on `config.ws_path`, and every other
    request of its port answered by `answer_http` (None from it: go on with the upgrade)."""
    assert config.ws is not None
    allowed_origins = config.http.allowed_origins

    async def handle(websocket: ServerConnection) -> None:
        # The handshake is over, but websockets keeps what it used for it for the
        # connection's life: the request and response with their headers (2 KiB of an idle
        # connection's RSS) and the select_subprotocol it bound to the protocol (0.3 KiB).
        # Nothing reads them again.
        # (del, not vars().pop: vars() would give the protocol a dict of its own to keep.)
        websocket.request, websocket.response = HANDSHAKE_DONE, None
        with contextlib.suppress(AttributeError):
            del websocket.protocol.select_subprotocol
        connection = WsConnection(broker, cast(StompWebSocket, websocket), flusher)
        connections.add(connection)
        try:
            await connection.run()
        finally:
            connections.discard(connection)

    return await serve(
        handle,
        config.ws.host,
        config.ws.port,
        subprotocols=SUBPROTOCOLS,
        select_subprotocol=select_subprotocol,
        create_connection=StompWebSocket,
        # None in the list takes a request without Origin: only browsers send one.
        origins=[*allowed_origins, None] if allowed_origins else None,
        process_request=answer_http,
        # Also the time an HTTP subscriber's request may wait (http_subscribers).
        open_timeout=http_subscribers.OPEN_TIMEOUT_SECONDS,
        ssl=context,
        max_size=config.limits.max_frame_bytes + 1024,
        write_limit=config.limits.output_high_water_bytes,
        # Messages websockets reads ahead while the session's reading is paused.
        max_queue=4,
        # Browsers offer permessage-deflate; accepting it would triple the memory of an idle
        # connection and double the CPU per delivery (see docs/benchmarks.md).
        compression=None,
        # Liveness comes from STOMP heart-beats, as on TCP; a keepalive task per connection
        # would cost 2 KiB of each idle connection's memory.
        ping_interval=None,
    )
