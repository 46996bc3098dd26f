"""What a page does on the broker, without a browser: STOMP 1.2 frames over a WebSocket
(sub-protocol v12.stomp), logging in as the pages do, with login `token` and the JWT."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

WAIT_SECONDS = 5.0


@dataclass
class Frame:
    command: str
    headers: dict[str, str]
    body: str


def encode_frame(command: str, headers: dict[str, str], body: str = "") -> str:
    lines = [command, *(f"{name}:{value}" for name, value in headers.items())]
    return "\n".join(lines) + "\n\n" + body + "\x00"


def parse_frame(text: str) -> Frame:
    """The first frame in `text` (RabbitMQ sends one a WebSocket message); header values are
    left escaped and the body ends at the NUL (our bodies are JSON or text)."""
    head, _, rest = text.lstrip("\r\n").partition("\n\n")
    command, *lines = head.split("\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name, value)
    return Frame(command, headers, rest.partition("\x00")[0])


def connect_frame(login: str, passcode: str) -> str:
    return encode_frame(
        "CONNECT",
        {"accept-version": "1.2", "heart-beat": "0,0", "login": login, "passcode": passcode},
    )


def subscribe_frame(destination: str, queue: str | None = None) -> str:
    """SUBSCRIBE asking for a receipt, so that success is a frame too, through the queue named
    `queue` (x-queue-name: a player's token may use only queues named for the player)."""
    headers = {"id": destination, "destination": destination}
    if queue is not None:
        headers["x-queue-name"] = queue
    return encode_frame("SUBSCRIBE", {**headers, "receipt": f"subscribed {destination}"})


def send_frame(destination: str, body: str) -> str:
    """SEND asking for a receipt, so that success is a frame too."""
    return encode_frame(
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

    def send(self, frame: str) -> None:
        self.ws.send(frame)

    def receive(self, timeout: float = WAIT_SECONDS) -> Frame | None:
        """The next frame; None once the broker has closed the connection, or after `timeout`
        seconds without one."""
        while True:
            try:
                message = self.ws.recv(timeout=timeout)
            except (ConnectionClosed, TimeoutError):
                return None
            text = message if isinstance(message, str) else message.decode()
            if text.strip("\r\n"):  # not a heart-beat
                return parse_frame(text)

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


def over_tcp(address: tuple[str, int], *frames: str) -> list[Frame]:
    """Send `frames` on one STOMP/TCP connection; every frame the broker sends back until it
    closes the connection (or is quiet for WAIT_SECONDS)."""
    received = b""
    with socket.create_connection(address, timeout=WAIT_SECONDS) as sock:
        sock.sendall("".join(frames).encode())
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
    return [parse_frame(text) for text in received.decode().split("\x00") if text.strip()]
