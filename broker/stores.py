"""Where queued messages live, behind coilmq's `QueueStore` seam.

The broker needs three things coilmq's stores do not give: a body that stays bytes, a NACKed
message that keeps its place at the front, and a message that stays stored until it is
acknowledged (`ack()`), not merely handed out (`dequeue()`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict, deque
from pathlib import Path

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
        self.dirty = False
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

    def delivered(self, destination: str, frame: StoredMessage) -> None:
        """Nothing outlives the process, so nothing needs marking."""

    def commit(self) -> None:
        """Nothing to write."""

    def size(self, destination: str) -> int:
        messages = self._messages.get(destination)
        return len(messages) if messages else 0

    def has_frames(self, destination: str) -> bool:
        return bool(self._messages.get(destination))

    def destinations(self) -> set[str]:
        return set(self._messages)


# Messages read into memory per query while a queue is consumed: enough to make delivery
# cheap, few enough that a deep queue costs a subscriber no stall.
READ_AHEAD = 256


class SqliteStore(QueueStore):
    """Queues in one SQLite file in WAL mode, safe from `kill -9` at any moment.

    A message's row is written when it is enqueued and deleted when it is acknowledged, so a
    message handed out but not yet acknowledged is delivered again after a crash. Writes
    collect in one transaction that `commit()` ends; the broker commits before it lets any
    output (a RECEIPT among it) leave, so a receipted message is on disk. Only a few rows of
    each queue are in memory at a time, so neither a SUBSCRIBE nor a delivery grows slower
    with the queue's depth.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        # Autocommit mode: this class opens and ends its transactions itself.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL loses nothing when the process dies; only a power cut
        # can lose the last transactions.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, "
            "destination TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, "
            "delivered INTEGER NOT NULL DEFAULT 0)"
        )
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS messages_by_destination ON messages (destination, id)"
        )
        self.dirty = False
        # Per queue: messages not handed out, requeued ones (in memory, at the front), rows
        # read ahead, and the last row id read into memory.
        self._waiting: dict[str, int] = {}
        self._front: defaultdict[str, deque[StoredMessage]] = defaultdict(deque)
        self._ahead: defaultdict[str, deque[StoredMessage]] = defaultdict(deque)
        self._cursor: dict[str, int] = {}
        rows = self._db.execute(
            "SELECT destination, COUNT(*), MIN(id) FROM messages GROUP BY destination"
        )
        for destination, count, first in rows:
            self._waiting[destination] = count
            self._cursor[destination] = first - 1

    def _write(self, sql: str, parameters: tuple[object, ...]) -> int:
        if not self.dirty:
            self._db.execute("BEGIN")
            self.dirty = True
        return self._db.execute(sql, parameters).lastrowid or 0

    def enqueue(self, destination: str, frame: StoredMessage) -> None:
        frame.key = self._write(
            "INSERT INTO messages (destination, headers, body) VALUES (?, ?, ?)",
            (destination, json.dumps(frame.headers), frame.body),
        )
        ahead = self._ahead[destination]
        if self._on_disk_only(destination) == 0 and len(ahead) < READ_AHEAD:
            ahead.append(frame)  # the queue is all in memory: no need to read it back
            self._cursor[destination] = frame.key
        self._waiting[destination] = self._waiting.get(destination, 0) + 1

    def _on_disk_only(self, destination: str) -> int:
        """Waiting messages not yet read into memory (all after the cursor)."""
        return (
            self._waiting.get(destination, 0)
            - len(self._front[destination])
            - len(self._ahead[destination])
        )

    def dequeue(self, destination: str) -> StoredMessage | None:
        if not self._waiting.get(destination):
            return None
        self._waiting[destination] -= 1
        front = self._front[destination]
        if front:
            return front.popleft()
        ahead = self._ahead[destination]
        if not ahead:
            rows = self._db.execute(
                "SELECT id, headers, body, delivered FROM messages "
                "WHERE destination = ? AND id > ? ORDER BY id LIMIT ?",
                (destination, self._cursor.get(destination, 0), READ_AHEAD),
            )
            for key, headers, body, delivered in rows:
                message = StoredMessage(json.loads(headers), body, key)
                if delivered:  # handed out before a crash, never acknowledged
                    message.headers["redelivered"] = "true"
                ahead.append(message)
            self._cursor[destination] = ahead[-1].key
        return ahead.popleft()

    def requeue(self, destination: str, frame: StoredMessage) -> None:
        """Back to the front; its row never left the file."""
        self._front[destination].appendleft(frame)
        self._waiting[destination] = self._waiting.get(destination, 0) + 1

    def ack(self, destination: str, frame: StoredMessage) -> None:
        self._write("DELETE FROM messages WHERE id = ?", (frame.key,))

    def delivered(self, destination: str, frame: StoredMessage) -> None:
        """Handed to a client-ack subscription: after a crash it comes back `redelivered`."""
        self._write("UPDATE messages SET delivered = 1 WHERE id = ?", (frame.key,))

    def commit(self) -> None:
        """End the open transaction: everything enqueued or acknowledged so far is on disk."""
        if self.dirty:
            self._db.execute("COMMIT")
            self.dirty = False

    def size(self, destination: str) -> int:
        return self._waiting.get(destination, 0)

    def has_frames(self, destination: str) -> bool:
        return self._waiting.get(destination, 0) > 0

    def destinations(self) -> set[str]:
        return set(self._waiting)

    def close(self) -> None:
        self.commit()
        self._db.close()
