"""stomp.py 9.0.0 against a real broker: a listener that collects what the broker sends, so a
test waits for the next message, receipt or heart-beat instead of sleeping."""

from __future__ import annotations

import queue
import threading

import stomp
from stomp.utils import Frame

WAIT_SECONDS = 5.0


class Inbox(stomp.ConnectionListener):
    """Every MESSAGE, RECEIPT, ERROR and heart-beat from the broker, in order of arrival."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Frame] = queue.Queue()
        self.receipts: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[Frame] = queue.Queue()
        self.heartbeats: queue.Queue[None] = queue.Queue()
        self.disconnected = threading.Event()

    def on_message(self, frame: Frame) -> None:
        self.messages.put(frame)

    def on_receipt(self, frame: Frame) -> None:
        self.receipts.put(frame.headers["receipt-id"])

    def on_error(self, frame: Frame) -> None:
        self.errors.put(frame)

    def on_heartbeat(self) -> None:
        self.heartbeats.put(None)

    def on_disconnected(self) -> None:
        self.disconnected.set()

    def next_message(self) -> Frame:
        return self.messages.get(timeout=WAIT_SECONDS)

    def next_receipt(self) -> str:
        return self.receipts.get(timeout=WAIT_SECONDS)


def stomp_connection(
    port: int, *, heartbeats: tuple[int, int] = (0, 0)
) -> tuple[stomp.Connection, Inbox]:
    """A stomp.py connection (STOMP 1.1) as guest/guest, connected, with an Inbox listening."""
    conn = stomp.Connection([("127.0.0.1", port)], heartbeats=heartbeats)
    inbox = Inbox()
    conn.set_listener("inbox", inbox)
    conn.connect("guest", "guest", wait=True)
    return conn, inbox
