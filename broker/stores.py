"""Where queued messages live, behind coilmq's `QueueStore` seam.

The broker needs three things coilmq's stores do not give: a body that stays bytes, a NACKed
message that keeps its place at the front, and a message that stays stored until it is
acknowledged (`ack()`), not merely handed out (`dequeue()`).
"""

from __future__ import annotations

from collections import defaultdict, deque

from coilmq.store import QueueStore
from coilmq.util.frames import Frame


class StoredMessage(Frame):
    """A queued MESSAGE: its headers, a body that is always bytes, and the store's key.

    coilmq's Frame turns an empty body `b""` into `""`, which cannot be joined with the
    bytes around it on delivery; this one keeps what it was given.
    """

    def __init__(self, headers: dict[str, str], body: bytes, key: int = 0) -> None:
        super().__init__("MESSAGE", headers=headers)
        self.body = body
        self.key = key


class MemoryStore(QueueStore):
    """Queues in memory, lost on restart: the default, and the fastest."""

    def __init__(self) -> None:
        super().__init__()
        self._messages: defaultdict[str, deque[StoredMessage]] = defaultdict(deque)

    def enqueue(self, destination: str, frame: StoredMessage) -> None:
        self._messages[destination].append(frame)

    def dequeue(self, destination: str) -> StoredMessage | None:
        messages = self._messages.get(destination)
        return messages.popleft() if messages else None

    def requeue(self, destination: str, frame: StoredMessage) -> None:
        """Back to the front: a redelivered message keeps its place in line."""
        self._messages[destination].appendleft(frame)

    def ack(self, destination: str, frame: StoredMessage) -> None:
        """Nothing is kept once handed out, so there is nothing to remove."""

    def commit(self) -> None:
        """Nothing to write."""

    def size(self, destination: str) -> int:
        messages = self._messages.get(destination)
        return len(messages) if messages else 0

    def has_frames(self, destination: str) -> bool:
        return bool(self._messages.get(destination))

    def destinations(self) -> set[str]:
        return set(self._messages)
