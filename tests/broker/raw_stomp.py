"""A STOMP client on a bare socket, for tests that need to control every byte and read."""

from __future__ import annotations

import socket

from stomp_bytes import ServerFrame, read_frames

WAIT_SECONDS = 10.0


class RawStomp:
    """One TCP connection to a real broker: write raw frames, read frames one at a time."""

    def __init__(self, port: int, *, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(WAIT_SECONDS)
        self.sock.connect(("127.0.0.1", port))
        self._buffer = bytearray()

    def connect(self, headers: str = "") -> ServerFrame:
        self.send(
            f"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n{headers}\n\x00"
        )
        return self.next_frame()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def next_frame(self) -> ServerFrame:
        """The next frame (heart-beats skipped); ConnectionError once the broker closed."""
        while True:
            end = self._frame_end()
            if end is not None:
                (frame,) = read_frames(bytes(self._buffer[:end]))
                del self._buffer[:end]
                return frame
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            self._buffer += chunk

    def _frame_end(self) -> int | None:
        start = 0
        while start < len(self._buffer) and self._buffer[start] == 0x0A:
            start += 1
        del self._buffer[:start]
        head_end = self._buffer.find(b"\n\n")
        if head_end < 0:
            return None
        head = bytes(self._buffer[:head_end]).decode()
        length = next(
            (int(line[15:]) for line in head.split("\n") if line.startswith("content-length:")),
            None,
        )
        if length is None:
            end = self._buffer.find(b"\x00", head_end)
            return None if end < 0 else end + 1
        end = head_end + 2 + length
        return end + 1 if len(self._buffer) > end else None

    def close(self) -> None:
        self.sock.close()
