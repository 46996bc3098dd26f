"""One asyncio process: the TCP and WebSocket listeners, the heart-beat ticker and signals.

The adapters only move bytes between sockets and `Session` objects: every protocol decision
lives in `broker.session`, the routing between sessions in `broker.routing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import json
import logging
import os
import signal
import socket
import ssl
import struct
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers, MultipleValuesError
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHeader,
    NegotiationError,
)
from websockets.headers import parse_authorization_basic
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from broker import admin, http_subscribers, metrics
from broker.auth import LoginsBusy, PasscodeCheck
from broker.config import BrokerConfig
from broker.routing import Broker
from broker.session import Session
from broker.session import State as SessionState
from broker.webhooks import Delivery, Endpoint, answer_failure

log = logging.getLogger("broker")

# Highest version first: a client offering several gets the highest.
SUBPROTOCOLS = [Subprotocol("v12.stomp"), Subprotocol("v11.stomp"), Subprotocol("v10.stomp")]
# Timers due within this of each other run in one tick: heart-beats need no finer grain.
TIMER_SLACK_SECONDS = 0.01
OP_TEXT, OP_BINARY = 0x1, 0x2
LINGER_SECONDS = 2.0
# What a WebSocket connection keeps as its handshake request once the handshake is over.
HANDSHAKE_DONE = Request(path="", headers=Headers())


def _log_closed(transport: str, peer: str, session: Session, reason: str | None) -> None:
    log.info(
        "closed %s %s login=%s reason=%s",
        transport,
        peer,
        session.login,
        session.close_reason or reason or "peer closed",
    )


def reset(transport: asyncio.BaseTransport) -> None:
    """Drop a connection with every byte still queued for it, in the kernel too (a reset,
    SO_LINGER 0): a graceful close would keep them, and the socket, for as long as the peer
    does not read."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Flusher:
    """Writes every connection that has output once per loop iteration, in one callback,
    so a message fanned out to a thousand connections costs one callback, not a thousand."""

    def __init__(self) -> None:
        self._dirty: dict[TcpConnection | WsConnection, None] = {}
        self._scheduled = False

    def mark(self, connection: TcpConnection | WsConnection) -> None:
        self._dirty[connection] = None
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_all)

    def flush_all(self) -> None:
        """One pass over every connection with output; a connection whose write fails (a bug)
        is aborted there, and the pass goes on: the others still get their messages, receipts
        and heart-beats. Connections marked during the pass (a fan-out by frames handled in
        it, a session's next turn of input) are written at the loop's next turn, after the
        sockets have been read: no client's frames hold up the others'."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, {}
        for connection in dirty:
            try:
                connection.flush()
            except Exception as error:
                connection.abort(error)


class TcpConnection(asyncio.Protocol):
    """STOMP over TCP: each flush hands the session's chunks to writelines() at once."""

    __slots__ = (
        "_broker",
        "_connections",
        "_flusher",
        "_lingering",
        "_reading_paused",
        "_transport",
        "peer",
        "session",
    )

    def __init__(self, broker: Broker, connections: set[TcpConnection], flusher: Flusher) -> None:
        self._broker = broker
        self._connections = connections
        self._flusher = flusher
        self._transport: asyncio.Transport | None = None
        self._lingering = False
        self._reading_paused = False
        self.session: Session | None = None
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        # Above the session's high water the transport calls pause_writing(), and
        # resume_writing() once drained, which tells the session (see flush()).
        high_water = self._broker.config.limits.output_high_water_bytes
        self._transport.set_write_buffer_limits(high=high_water, low=high_water // 4)
        host, port = self._transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self._connections.add(self)
        self.session = self._broker.open_session(
            transport="tcp", peer=self.peer, on_output=self._output_ready
        )
        log.info("opened tcp %s", self.peer)
        self._flusher.mark(self)

    def _output_ready(self) -> None:
        """The session's `on_output`: a bound method costs an idle connection less than a
        closure."""
        self._flusher.mark(self)

    def flush(self) -> None:
        transport = self._transport
        if transport is None or self.session is None or self._lingering or transport.is_closing():
            return
        chunks = self.session.data_to_send()
        if chunks:
            transport.writelines(chunks)
        self.session.note_backlog(transport.get_write_buffer_size())
        if self.session.closing and not self._lingering:
            if self.session.cut:  # a slow consumer: it would not read the rest either
                reset(transport)
                return
            # Input held back until now may have ended the session with a last frame.
            transport.writelines(self.session.data_to_send())
            self._close_gently()
        self._follow_session_reading()

    def _follow_session_reading(self) -> None:
        """Read from the socket only while the session can take frames (see reading_paused)."""
        assert self._transport is not None and self.session is not None
        paused = self.session.reading_paused and not self.session.closing
        if paused != self._reading_paused and not self._transport.is_closing():
            self._reading_paused = paused
            if paused:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    def _close_gently(self) -> None:
        """Half-close and drop further input for a while, so unread bytes from the peer do
        not turn the close into a reset that would discard our final ERROR frame."""
        assert self._transport is not None
        self._lingering = True
        if self._transport.can_write_eof():
            self._transport.write_eof()
        else:
            self._transport.close()  # TLS: it closes once the output is written
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        """Close, or reset if the peer has not taken its last frames within the linger: a
        client that does not read would keep them, and the socket, for ever."""
        transport = self._transport
        if transport is None:
            return  # gone already
        if transport.get_write_buffer_size():
            reset(transport)
        else:
            transport.close()

    def data_received(self, data: bytes) -> None:
        assert self.session is not None
        if self._lingering:
            return
        try:
            self.session.receive_data(data)
            self._follow_session_reading()
        except Exception as error:
            self.abort(error)

    def abort(self, error: BaseException) -> None:
        """A bug while serving this connection: the session logs it and says ERROR, which is
        written if it can be, and the connection closes; no other connection is touched."""
        transport = self._transport
        if self.session is None or transport is None or transport.is_closing():
            return
        self.session.crash(error, "serving its socket")
        with contextlib.suppress(Exception):  # the write itself may be what failed
            transport.writelines(self.session.data_to_send())
        transport.close()

    def resume_writing(self) -> None:
        """The socket drained: tell the session, which may take input and messages again."""
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self.session is not None:
            reason = str(exc) if exc else "peer closed"
            _log_closed("tcp", self.peer, self.session, reason)
            self.session.connection_lost(self.session.close_reason or reason)
        self._transport = None


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
            _log_closed("ws", self.peer, self.session, reason)
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


def _typed(connection: ServerConnection, body: str, content_type: str) -> Response:
    """200 with `body` as `content_type` (websockets' respond() says text/plain)."""
    response = connection.respond(http.HTTPStatus.OK, body)
    headers = Headers(response.headers)
    del headers["Content-Type"]
    headers["Content-Type"] = content_type
    response.headers = headers
    return response


def _host_name(header: str) -> str:
    """`example.org:15674` → `example.org`, `[::1]:15674` → `::1`, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    name, colon, port = header.rpartition(":")
    return name if colon and port.isdigit() else header


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


async def post_webhook(delivery: Delivery, context: ssl.SSLContext | None) -> str | None:
    """POST one webhook delivery: None when the receiver answered 2xx, else why not. Only the
    status line is read, and the connection is not kept: one POST at a time per receiver."""
    url = urllib.parse.urlsplit(delivery.url)
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {url.netloc}",
        *(f"{name}: {value}" for name, value in delivery.headers),
        f"Content-Length: {len(delivery.body)}",
        "Connection: close",
        "User-Agent: stomp-broker",
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + delivery.body
    try:
        async with asyncio.timeout(delivery.timeout):
            reader, writer = await asyncio.open_connection(
                url.hostname, port, ssl=context if https else None
            )
            try:
                writer.write(request)
                status_line = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        return f"no answer within {delivery.timeout} s"
    except (OSError, ValueError) as error:  # ValueError: a status line past 64 KiB, a bad name
        return str(error) or type(error).__name__
    return answer_failure(status_line)


async def deliver_webhooks(
    endpoint: Endpoint, now: Callable[[], float], context: ssl.SSLContext | None
) -> None:
    """One receiver's POSTs, one at a time, for the broker's life; the endpoint says what to
    send and when, and wakes this task when an event comes (its on_ready)."""
    wake = asyncio.Event()
    endpoint.on_ready = wake.set
    while True:
        delivery = endpoint.take(now=now(), wall_time=time.time())
        if delivery is None:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(endpoint.wait_seconds(now())):
                    await wake.wait()
            continue
        try:
            reason = await post_webhook(delivery, context)
        except Exception as error:  # a bug: this POST failed, and the receiver's task goes on
            log.error("webhook %s: POST failed", delivery.url, exc_info=error)
            reason = f"internal error ({type(error).__name__})"
        if reason is None:
            endpoint.succeeded()
        else:
            log.info("webhook %s: POST failed: %s", delivery.url, reason)
            endpoint.failed(now=now(), reason=reason)


class BrokerServer:
    """Starts and stops both listeners around one Broker, plus the heart-beat ticker."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        # PBKDF2 runs here, not on the event loop (hashlib lets go of the GIL while it hashes);
        # one core stays free for the loop whatever a flood of logins costs.
        self._hasher = ThreadPoolExecutor(
            max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="passcodes"
        )
        self.broker = Broker(config, verifier=self._verify_off_loop)
        self.http_subscribers = http_subscribers.HttpSubscribers(
            self.broker, config.http.allowed_origins
        )
        self.tcp_connections: set[TcpConnection] = set()
        self.ws_connections: set[WsConnection] = set()
        self._tcp_server: asyncio.Server | None = None
        self._ws_server: Server | None = None
        self._flusher = Flusher()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._webhook_tasks: list[asyncio.Task[None]] = []

    def _verify_off_loop(
        self, check: PasscodeCheck, done: Callable[[bool], object]
    ) -> Callable[[], object]:
        """The broker's verifier: the check waits for the hashing thread; cancelling it (its
        client left) takes it out of the wait, or ignores its answer if it already runs."""
        future = asyncio.get_running_loop().run_in_executor(self._hasher, check.run)
        future.add_done_callback(
            lambda finished: None if finished.cancelled() else done(finished.result())
        )
        return future.cancel

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.tls is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls.certfile, self.config.tls.keyfile)
        return context

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        context = self._ssl_context()
        scheme = "s" if context else ""
        if self.config.tcp is not None:
            self._tcp_server = await loop.create_server(
                lambda: TcpConnection(self.broker, self.tcp_connections, self._flusher),
                self.config.tcp.host,
                self.config.tcp.port,
                ssl=context,
            )
            host, port = self._tcp_server.sockets[0].getsockname()[:2]
            log.info(
                "STOMP over TCP listening on %s:%s (stomp.py: Connection([(%r, %s)]))",
                host,
                port,
                host,
                port,
            )
        if self.config.ws is not None:
            limit = self.config.limits.output_high_water_bytes
            allowed_origins = self.config.http.allowed_origins
            # None in the list takes a request without Origin: only browsers send one.
            origins = [*allowed_origins, None] if allowed_origins else None
            self._ws_server = await serve(
                self._handle_ws,
                self.config.ws.host,
                self.config.ws.port,
                subprotocols=SUBPROTOCOLS,
                select_subprotocol=select_subprotocol,
                create_connection=StompWebSocket,
                origins=origins,
                process_request=self._process_request,
                # Also the time an HTTP subscriber's request may wait (http_subscribers).
                open_timeout=http_subscribers.OPEN_TIMEOUT_SECONDS,
                ssl=context,
                max_size=self.config.limits.max_frame_bytes + 1024,
                write_limit=limit,
                # Messages websockets reads ahead while the session's reading is paused.
                max_queue=4,
                # Browsers offer permessage-deflate; accepting it would triple the memory of an
                # idle connection and double the CPU per delivery (see docs/benchmarks.md).
                compression=None,
                # Liveness comes from STOMP heart-beats, as on TCP; a keepalive task per
                # connection would cost 2 KiB of each idle connection's memory.
                ping_interval=None,
            )
            host, port = next(iter(self._ws_server.sockets)).getsockname()[:2]
            log.info(
                "STOMP over WebSocket listening on ws%s://%s:%s%s (stats: http%s://%s:%s/stats)",
                scheme,
                host,
                port,
                self.config.ws_path,
                scheme,
                host,
                port,
            )
        if not (self.config.users or self.config.tokens.secret or self.config.allow_anonymous):
            log.warning(
                "no users, no tokens secret and anonymous access off: every CONNECT will be "
                "refused; add --user LOGIN:PASSCODE, --allow-anonymous "
                "or a [[users]] table in --config"
            )
        self.broker.on_earlier_deadline = self._arm_timer
        self._arm_timer()
        self._start_webhooks()

    def _start_webhooks(self) -> None:
        """A task per `[[webhooks]]` receiver; https ones share one TLS client context."""
        endpoints = self.broker.webhooks.endpoints
        https = any(urllib.parse.urlsplit(e.rule.url).scheme == "https" for e in endpoints)
        context = ssl.create_default_context() if https else None
        self._webhook_tasks = [
            asyncio.create_task(deliver_webhooks(endpoint, self.broker.now, context))
            for endpoint in endpoints
        ]

    def _arm_timer(self) -> None:
        """One loop timer for the whole process, set for the broker's next deadline, so an
        idle broker sleeps until a heart-beat is due."""
        deadline = self.broker.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, deadline
        if deadline is not None:
            delay = max(deadline - time.monotonic(), 0.0) + TIMER_SLACK_SECONDS
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, None
        self.broker.tick()
        self._arm_timer()

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Answer the HTTP side of the WebSocket port; a header given twice where one is read
        is a bad request (websockets' Headers refuse to pick one), not a server error."""
        try:
            return await self._answer_http(connection, request)
        except LoginsBusy as error:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, f"{error}\n")
        except MultipleValuesError as error:
            return connection.respond(
                http.HTTPStatus.BAD_REQUEST,
                f"the {error.args[0]} header is repeated: send it once\n",
            )

    async def _answer_http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer /stats, /metrics, /healthz, the admin API and the HTTP subscribers (/poll,
        /sse) on the WebSocket port; only ws_path upgrades."""
        path = request.path.split("?", 1)[0]
        if path in http_subscribers.TRANSPORTS:
            if request.method == "OPTIONS":
                return self.http_subscribers.preflight(connection, request)
            return await self.http_subscribers.answer(connection, request)
        if path in ("/stats", "/metrics"):
            return await self._stats_response(connection, request, path)
        if path.startswith(admin.CONNECTIONS_OF_USER):
            return self._host_refusal(connection, request) or await admin.connections_of_user(
                connection,
                request,
                broker=self.broker,
                admin_users=self.config.http.admin_users,
                login_verified=functools.partial(self._login_verified, connection),
            )
        if path == "/healthz":
            return self._json(connection, {"status": "ok"})
        if path != self.config.ws_path:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _stats_response(
        self, connection: ServerConnection, request: Request, path: str
    ) -> Response:
        """/stats (JSON) and /metrics (Prometheus) name every destination and queue depth:
        only for the hosts and logins the [http] settings allow."""
        settings = self.config.http
        refusal = self._host_refusal(connection, request)
        if refusal is not None:
            return refusal
        users = settings.stats_users
        if settings.stats_open or (
            users and await self._login_verified(connection, request, users)
        ):
            if path == "/metrics":
                return await self._metrics(connection)
            return self._json(connection, self.stats())
        if not settings.stats_users:
            return connection.respond(
                http.HTTPStatus.FORBIDDEN,
                f"{path} is off: list logins in [http] stats_users (HTTP basic "
                "authentication) or set [http] stats_open = true\n",
            )
        response = connection.respond(
            http.HTTPStatus.UNAUTHORIZED,
            f"{path} needs HTTP basic authentication as one of [http] stats_users\n",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="broker stats", charset="UTF-8"'
        return response

    def _host_refusal(self, connection: ServerConnection, request: Request) -> Response | None:
        """403 for a Host header not in [http] allowed_hosts (a defence against DNS
        rebinding), None for an allowed one."""
        host = request.headers.get("Host", "")
        if _host_name(host) in self._allowed_hosts():
            return None
        path = request.path.split("?", 1)[0]
        return connection.respond(
            http.HTTPStatus.FORBIDDEN,
            f"{path[:80]}: Host {host[:80]!r} is not in [http] allowed_hosts\n",
        )

    async def _login_verified(
        self, connection: ServerConnection, request: Request, logins: tuple[str, ...]
    ) -> bool:
        """The request's HTTP basic credentials are right and name one of `logins`."""
        try:
            login, passcode = parse_authorization_basic(request.headers.get("Authorization", ""))
        except InvalidHeader:
            return False
        authentication = self.broker.authentication
        check = authentication.check_login(login, passcode)
        if authentication.remembers(check):
            return login in logins
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        host = str(connection.remote_address[0])
        pending = authentication.verify(check, answer.set_result, host=host)
        try:
            verified = await answer
        finally:
            pending.cancel()  # the request was given up (its client left): no hash needed
        return verified and login in logins

    def _allowed_hosts(self) -> frozenset[str]:
        if self.config.http.allowed_hosts is not None:
            return frozenset(self.config.http.allowed_hosts)
        listener = {self.config.ws.host.lower()} if self.config.ws else set()
        return frozenset({"localhost", "127.0.0.1", "::1"} | listener)

    @staticmethod
    def _json(connection: ServerConnection, body: dict[str, Any]) -> Response:
        return _typed(connection, json.dumps(body) + "\n", "application/json")

    async def _metrics(self, connection: ServerConnection) -> Response:
        """The Prometheus exposition, with the event loop's lag measured now: how long a
        callback waits for its turn (nothing measures it while nobody scrapes)."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await asyncio.sleep(0)
        lag = loop.time() - asked
        text = metrics.exposition(metrics.registry(self.stats, lambda: lag)).decode()
        return _typed(connection, text, metrics.CONTENT_TYPE)

    def stats(self) -> dict[str, Any]:
        """broker.stats() plus what only the transports know."""
        stats = dict(self.broker.stats())
        # The HTTP subscribers being answered, as connections of transports "poll" and "sse".
        stats["connections"] = {
            **stats["connections"],  # type: ignore[dict-item]
            **{t: self.http_subscribers.serving[t] for t in http_subscribers.TRANSPORTS.values()},
        }
        stats["transport"] = {
            "tcp_write_buffer_bytes": sum(
                c._transport.get_write_buffer_size() for c in self.tcp_connections if c._transport
            ),
            "ws_open": len(self.ws_connections),
            "http_answer_bytes": self.http_subscribers.answer_bytes,
        }
        return stats

    async def _handle_ws(self, websocket: ServerConnection) -> None:
        # The handshake is over, but websockets keeps what it used for it for the connection's
        # life: the request and response with their headers (2 KiB of an idle connection's
        # RSS) and the select_subprotocol it bound to the protocol (0.3 KiB). Nothing reads
        # them again.
        # (del, not vars().pop: vars() would give the protocol a dict of its own to keep.)
        websocket.request, websocket.response = HANDSHAKE_DONE, None
        with contextlib.suppress(AttributeError):
            del websocket.protocol.select_subprotocol
        connection = WsConnection(self.broker, cast(StompWebSocket, websocket), self._flusher)
        self.ws_connections.add(connection)
        try:
            await connection.run()
        finally:
            self.ws_connections.discard(connection)

    async def stop(self) -> None:
        """Stop accepting, tell every client, flush the stores and the sockets, close."""
        if self._tcp_server is not None:
            self._tcp_server.close()
        if self._ws_server is not None:
            self._ws_server.close(close_connections=False)
        self.broker.on_earlier_deadline = None
        if self._timer is not None:
            self._timer.cancel()
        for task in self._webhook_tasks:
            task.cancel()
        self.broker.shutdown()
        self._hasher.shutdown(wait=False, cancel_futures=True)
        self._flusher.flush_all()
        await asyncio.sleep(0)
        if self._ws_server is not None:
            self._ws_server.close(close_connections=True)
            await self._ws_server.wait_closed()
        if self._tcp_server is not None:
            await self._tcp_server.wait_closed()


async def serve_forever(config: BrokerConfig) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly."""
    logging.getLogger("websockets").setLevel(logging.WARNING)  # we log each connection ourselves
    server = BrokerServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    log.info("stopped")


def run(config: BrokerConfig) -> int:
    """Block in the event loop (uvloop where installed); exit status 0 after a clean stop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve_forever(config))
    else:
        uvloop.run(serve_forever(config))
    return 0
