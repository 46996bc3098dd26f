"""What both transports share: every connection with output written once per loop
iteration (Flusher), a connection dropped with its unsent bytes (reset), the line logged when
one closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import Protocol

from broker.session import Session

log = logging.getLogger("broker")


class Connection(Protocol):
    """A transport's connection, as the flusher sees it."""

    def flush(self) -> None: ...

    def abort(self, error: BaseException) -> None: ...


def log_closed(transport: str, peer: str, session: Session, reason: str | None) -> None:
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
        self._dirty: dict[Connection, None] = {}
        self._scheduled = False

    def mark(self, connection: Connection) -> None:
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
