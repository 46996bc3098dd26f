"""STOMP clients for tests over real sockets: on a bare socket, for tests that need to control
every byte and read, and the frames of a websockets client connection."""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections import deque
from collections.abc import Iterator

from websockets.sync.client import ClientConnection

from broker.client import ServerFrames, connect_frame
from broker.frames import Frame

WAIT_SECONDS = 10.0


def websocket_frames(ws: ClientConnection, version: str = "1.2") -> Iterator[Frame]:
    """The frames the broker sends, in order, however WebSocket messages carry them."""
    reader = ServerFrames(version)
    while True:
        message = ws.recv(timeout=WAIT_SECONDS)
        yield from reader.feed(message.encode() if isinstance(message, str) else message)


class RawStomp:
    """One TCP connection to a real broker: write raw frames, read frames one at a time."""

    def __init__(self, port: int, *, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(WAIT_SECONDS)
        self.sock.connect(("127.0.0.1", port))
        self._reader = ServerFrames()
        self._frames: deque[Frame] = deque()

    def connect(self) -> Frame:
        self.send(connect_frame("guest", "guest"))
        return self.next_frame()

    def send(self, data: bytes | str) -> None:
        """All of `data`. WAIT_SECONDS bounds each wait for the broker to take more, not the
        whole (as sendall's timeout would): a broker may slow a publisher to its readers' pace.
        """
        view = memoryview(data.encode() if isinstance(data, str) else data)
        while view:
            view = view[self.sock.send(view) :]

    def next_frame(self) -> Frame:
        """The next frame (heart-beats skipped); ConnectionError once the broker closed."""
        while not self._frames:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            self._frames.extend(self._reader.feed(chunk))
        return self._frames.popleft()

    def close(self) -> None:
        self.sock.close()


def raw_websocket(port: int, *, receive_buffer: int) -> socket.socket:
    """A STOMP 1.2 WebSocket connection on a bare socket, through its CONNECTED frame: the
    test decides when (and whether) to read anything after that."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(WAIT_SECONDS)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: v12.stomp\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 101"), response
    sock.sendall(ws_message(connect_frame("guest", "guest")))
    received = b""
    while b"\x00" not in received:
        received += sock.recv(4096)
    assert b"CONNECTED" in received, received
    return sock


def ws_message(payload: bytes) -> bytes:
    """A client text frame with an all-zero mask, so the payload goes as it is."""
    return struct.pack("!BBQ", 0x81, 0x80 | 127, len(payload)) + b"\0\0\0\0" + payload
