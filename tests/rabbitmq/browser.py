"""What a page does on the broker, without a browser: STOMP 1.2 frames over a WebSocket
(sub-protocol v12.stomp), logging in as the pages do, with login `token` and the JWT."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from broker.client import ServerFrames, client_frame
from broker.client import connect_frame as stomp_connect_frame

WAIT_SECONDS = 5.0


@dataclass
class Frame:
    """A frame the broker sent, its body as text (ours are JSON or text)."""

    command: str
    headers: dict[str, str]
    body: str


def _text_frames(reader: ServerFrames, data: bytes) -> list[Frame]:
    return [Frame(f.command, f.headers, f.body.decode()) for f in reader.feed(data)]


def connect_frame(login: str, passcode: str) -> bytes:
    return stomp_connect_frame(login, passcode, host=None)


def subscribe_frame(destination: str, queue: str | None = None) -> bytes:
    """SUBSCRIBE asking for a receipt, so that success is a frame too, through the queue named
    `queue` (x-queue-name: a player's token may use only queues named for the player)."""
    headers = {"id": destination, "destination": destination}
    if queue is not None:
        headers["x-queue-name"] = queue
    return client_frame("SUBSCRIBE", {**headers, "receipt": f"subscribed {destination}"})


def send_frame(destination: str, body: str) -> bytes:
    """SEND asking for a receipt, so that success is a frame too."""
    return client_frame(
        "SEND",
        {
            "destination": destination,
            "receipt": f"sent {destination}",
            "content-type": "application/json",
        },
        body,
    )


class Browser:
    """One STOMP connection over WebSocket; frames go as text, as @stomp/stompjs sends them."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._reader = ServerFrames()
        self._frames: list[Frame] = []

    def send(self, frame: bytes) -> None:
        self.ws.send(frame.decode())

    def receive(self, timeout: float = WAIT_SECONDS) -> Frame | None:
        """The next frame; None once the broker has closed the connection, or after `timeout`
        seconds without one."""
        while not self._frames:
            try:
                message = self.ws.recv(timeout=timeout)
            except (ConnectionClosed, TimeoutError):
                return None
            data = message.encode() if isinstance(message, str) else message
            self._frames.extend(_text_frames(self._reader, data))
        return self._frames.pop(0)

    def close_reason(self) -> tuple[int, str] | None:
        """How the broker closed the WebSocket, None while it is open."""
        if self.ws.close_code is None:
            return None
        return self.ws.close_code, self.ws.close_reason or ""


@contextlib.contextmanager
def open_browser(url: str, *, login: str, passcode: str) -> Iterator[tuple[Browser, Frame | None]]:
    """A connected page and the broker's answer to its CONNECT."""
    with connect(url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        browser = Browser(ws)
        browser.send(connect_frame(login, passcode))
        yield browser, browser.receive()


def over_tcp(address: tuple[str, int], *frames: bytes) -> list[Frame]:
    """Send `frames` on one STOMP/TCP connection; every frame the broker sends back until it
    closes the connection (or is quiet for WAIT_SECONDS)."""
    received = b""
    with socket.create_connection(address, timeout=WAIT_SECONDS) as sock:
        sock.sendall(b"".join(frames))
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
    return _text_frames(ServerFrames(), received)
