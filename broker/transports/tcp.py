"""STOMP over TCP: an asyncio Protocol that moves bytes between its socket and a Session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

from broker.routing import Broker
from broker.session import Session
from broker.transports.sockets import Flusher, log_closed, reset

log = logging.getLogger("broker")

LINGER_SECONDS = 2.0


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
            log_closed("tcp", self.peer, self.session, reason)
            self.session.connection_lost(self.session.close_reason or reason)
        self._transport = None
