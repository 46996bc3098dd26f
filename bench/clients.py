"""STOMP client connections on raw asyncio, over TCP or over WebSocket.

One `StompClient` is an `asyncio.Protocol`: bytes from the socket go through websockets'
sans-I/O `ClientProtocol` (WebSocket only) and then `FrameParser`; no task, future or queue
per message, so one process keeps up with thousands of subscribers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from bench.stomp import Frame, FrameParser, connect_frame, encode

DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
WRITE_BUFFER_HIGH = 256 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a broker: `transport` is "tcp" or "ws"."""

    transport: str
    host: str
    port: int
    login: str
    passcode: str
    path: str = "/ws"
    deflate: bool = False  # offer permessage-deflate, as browsers do
    # STOMP heart-beat header; "10000,10000" as stompjs: RabbitMQ's Web-STOMP closes a
    # WebSocket that has sent nothing for 60 s
    heart_beat: str = "0,0"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path}"

    def __str__(self) -> str:
        return self.url if self.transport == "ws" else f"stomp://{self.host}:{self.port}"


class ConnectionFailed(Exception):
    """The broker refused, closed or never answered."""


class SharedCounter(Protocol):
    """A `multiprocessing.Value`: a worker's deliveries, read by the publisher's process."""

    value: int


OnMessage = Callable[["StompClient", Frame, int], None]


class StompClient(asyncio.Protocol):
    """One STOMP connection; `on_message(client, frame, perf_counter_ns)` sees each MESSAGE.

    Every MESSAGE is also added to `received` and, when given, to the shared `progress`.

    While a run is measured, `fast()` swaps websockets' general frame parser for a minimal
    reader of the server's frames (unmasked, so a few lines), and, without `on_message`,
    counts MESSAGEs by their NUL terminators instead of parsing them. That keeps a Python
    subscriber cheaper per delivery than the broker. Counting is exact here: our bodies hold
    no NUL, heart-beats are off, and no receipt is asked for while a run is measured.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        on_message: OnMessage | None = None,
        progress: SharedCounter | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.on_message = on_message
        self.progress = progress
        self.received = 0
        self.error: str | None = None
        self.server: str | None = None  # the CONNECTED frame's server header
        self._parser = FrameParser()
        self._fast = False
        self._ws_pending = b""
        self._transport: asyncio.Transport | None = None
        self._ws: ClientProtocol | None = None
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()  # socket up and, for WebSocket, handshake done
        self._connected = loop.create_future()  # CONNECTED received
        self._receipts: dict[str, asyncio.Future[Frame]] = {}
        self.closed = loop.create_future()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if self.endpoint.transport == "tcp":
            self._opened.set_result(None)
            return
        self._ws = ClientProtocol(
            parse_uri(self.endpoint.url),
            subprotocols=[Subprotocol("v12.stomp")],
            extensions=[ClientPerMessageDeflateFactory()] if self.endpoint.deflate else None,
            max_size=None,
        )
        self._ws.send_request(self._ws.connect())
        self._write_ws()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        ws = self._ws
        if self._fast:
            buffer, spans = (data, [(0, len(data))]) if ws is None else self._read_ws(data)
            if self.on_message is not None:
                for start, end in spans:
                    self._handle_frames(self._parser.feed(buffer[start:end]), now)
            else:
                self._count(buffer, spans)
            return
        if ws is None:
            self._handle_frames(self._parser.feed(data), now)
            return
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Response):
                self._check_handshake()
            elif event.opcode in DATA_OPCODES:
                self._handle_frames(self._parser.feed(event.data), now)
        self._write_ws()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.error is None:
            self.error = f"connection closed ({exc or 'by the broker'})"
        for future in (self._opened, self._connected, *self._receipts.values()):
            if not future.done():
                future.set_exception(ConnectionFailed(self.error))
        if not self.closed.done():
            self.closed.set_result(None)

    # Sending

    def send(self, frame: bytes) -> None:
        """One STOMP frame; over WebSocket, one text message per frame, as stompjs sends."""
        self.send_many([frame])

    def send_many(self, frames: list[bytes]) -> None:
        """Several frames in one write."""
        if self._transport is None or self._transport.is_closing():
            return
        if self._ws is None:
            self._transport.write(b"".join(frames))
        else:
            for frame in frames:
                self._ws.send_text(frame)
            self._write_ws()

    async def drain(self) -> None:
        """Wait while the socket's write buffer is over WRITE_BUFFER_HIGH."""
        transport = self._transport
        while transport is not None and not transport.is_closing():
            if transport.get_write_buffer_size() < WRITE_BUFFER_HIGH:
                return
            await asyncio.sleep(0.001)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # STOMP conversation

    async def connect(self) -> None:
        endpoint = self.endpoint
        await self._opened
        self.send(connect_frame(endpoint.login, endpoint.passcode, endpoint.heart_beat))
        await self._connected
        every_ms = int(endpoint.heart_beat.split(",")[0])
        if every_ms:
            self._beat(every_ms / 1000)

    async def subscribe(
        self,
        destination: str,
        subscription_id: str,
        queue_name: str | None = None,
        *,
        announce: bool = False,
        offset: str | None = None,
    ) -> Frame:
        """SUBSCRIBE, and wait for its RECEIPT (returned) so that no message is published too
        early; through the RabbitMQ queue `queue_name` if given (x-queue-name, as pages name
        theirs); announced on the topic if `announce` (our broker's presence); from the
        topic's history at `offset` if given (x-stream-offset, e.g. "first")."""
        receipt = f"sub-{subscription_id}"
        future = asyncio.get_running_loop().create_future()
        self._receipts[receipt] = future
        headers = {"id": subscription_id, "destination": destination, "receipt": receipt}
        if queue_name is not None:
            headers["x-queue-name"] = queue_name
        if announce:
            headers["presence"] = "announce"
        if offset is not None:
            headers["x-stream-offset"] = offset
        self.send(encode("SUBSCRIBE", headers))
        return await future

    async def send_with_receipt(self, destination: str, body: bytes, receipt: str) -> None:
        """SEND `body` (JSON) and wait for the broker's RECEIPT, as a page's answer does."""
        future = asyncio.get_running_loop().create_future()
        self._receipts[receipt] = future
        headers = {
            "destination": destination,
            "receipt": receipt,
            "persistent": "true",
            "content-type": "application/json",
        }
        self.send(encode("SEND", headers, body))
        await future

    def unsubscribe(self, subscription_id: str) -> None:
        """No need to wait: the broker handles a connection's frames in order."""
        self.send(encode("UNSUBSCRIBE", {"id": subscription_id}))

    def fast(self, on_message: OnMessage | None) -> None:
        """Measure from here on (see the class docstring); only on a frame boundary.

        Compressed WebSocket frames (permessage-deflate) keep going through websockets.
        """
        if self._parser.pending:
            raise RuntimeError("fast() with part of a frame buffered")
        self.on_message = on_message
        self._fast = self._ws is None or not self._ws.extensions

    def slow(self) -> bool:
        """Back to full parsing; False when a frame was cut short (close this client)."""
        self._fast = False
        self.on_message = None
        return not (self._ws_pending or self._parser.pending)

    # Internals

    def _beat(self, seconds: float) -> None:
        """An end-of-line every `seconds` while the connection is open."""
        if self.closed.done():
            return
        self.send(b"\n")
        asyncio.get_running_loop().call_later(seconds, self._beat, seconds)

    def _write_ws(self) -> None:
        assert self._ws is not None and self._transport is not None
        chunks = self._ws.data_to_send()
        if chunks and not self._transport.is_closing():
            self._transport.writelines(chunks)

    def _check_handshake(self) -> None:
        assert self._ws is not None
        if self._ws.handshake_exc is not None:
            self._fail(f"WebSocket handshake refused: {self._ws.handshake_exc}")
        elif self._ws.subprotocol is None:
            self._fail("WebSocket handshake without a STOMP sub-protocol")
        elif not self._opened.done():
            self._opened.set_result(None)

    def _handle_frames(self, frames: list[Frame], now: int) -> None:
        for frame in frames:
            command = frame.command
            if command == b"MESSAGE":
                self.received += 1
                if self.progress is not None:
                    self.progress.value += 1
                if self.on_message is not None:
                    self.on_message(self, frame, now)
            elif command == b"RECEIPT":
                future = self._receipts.pop(frame.header("receipt-id") or "", None)
                if future is not None and not future.done():
                    future.set_result(frame)
            elif command == b"CONNECTED":
                self.server = frame.header("server")
                if not self._connected.done():
                    self._connected.set_result(None)
            elif command == b"ERROR":
                detail = frame.body.decode(errors="replace").strip()
                self._fail(f"ERROR {frame.header('message')}" + (f": {detail}" if detail else ""))

    def _count(self, buffer: bytes, spans: list[tuple[int, int]]) -> None:
        count = 0
        for start, end in spans:
            count += buffer.count(0, start, end)
            if buffer.find(b"ERROR\n", start, end) >= 0:
                self._fail("ERROR frame from the broker")
        if count:
            self.received += count
            if self.progress is not None:
                self.progress.value += count

    def _read_ws(self, data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
        """The payload spans of the server's complete data frames; answers pings and closes."""
        buffer = self._ws_pending + data if self._ws_pending else data
        size = len(buffer)
        position = 0
        spans = []
        while position + 2 <= size:
            first, second = buffer[position], buffer[position + 1]
            length, start = second & 0x7F, position + 2
            if length == 126:
                length, start = int.from_bytes(buffer[start : start + 2], "big"), start + 2
            elif length == 127:
                length, start = int.from_bytes(buffer[start : start + 8], "big"), start + 8
            end = start + length
            if end > size:
                break
            opcode = first & 0x0F
            if opcode <= Opcode.BINARY:  # continuation, text or binary
                spans.append((start, end))
            elif opcode == Opcode.PING and self._ws is not None:
                self._ws.send_pong(buffer[start:end])
                self._write_ws()
            elif opcode == Opcode.CLOSE:
                code = int.from_bytes(buffer[start : start + 2], "big") if length >= 2 else 1005
                self._fail(f"WebSocket closed by the broker (code {code})")
            position = end
        self._ws_pending = buffer[position:]
        return buffer, spans

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        self.close()


async def open_client(
    endpoint: Endpoint, progress: SharedCounter | None = None, source: str | None = None
) -> StompClient:
    """A client past CONNECTED, connecting from the address `source` if given."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: StompClient(endpoint, progress=progress),
        endpoint.host,
        endpoint.port,
        local_addr=(source, 0) if source else None,
    )
    await client.connect()
    return client
