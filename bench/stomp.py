"""STOMP frames for a load generator: the project's client codec (`broker.client`) for what
the bench sends, and a reader of what it receives that keeps headers raw.

The reader is the bench's own because counting deliveries must cost the load generator less
than it costs the broker: it looks headers up only on demand, where `broker.client`'s reader
checks, decodes and unescapes every header of every frame (about 3x the CPU per MESSAGE).
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.client import client_frame as encode
from broker.client import connect_frame

__all__ = ["Frame", "FrameParser", "connect_frame", "encode"]

HEADER_END = b"\n\n"
CONTENT_LENGTH = b"\ncontent-length:"


@dataclass(frozen=True, slots=True)
class Frame:
    """One parsed frame; `head` is the command line and header lines, undecoded."""

    command: bytes
    head: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, or None (values are not unescaped: we send none)."""
        key = b"\n" + name.encode() + b":"
        start = self.head.find(key)
        if start < 0:
            return None
        start += len(key)
        end = self.head.find(b"\n", start)
        return self.head[start : end if end >= 0 else len(self.head)].decode()


class FrameParser:
    """Feed it bytes as they arrive; it returns the frames they complete."""

    def __init__(self) -> None:
        self._pending = b""

    @property
    def pending(self) -> bool:
        """Whether part of a frame is buffered."""
        return bool(self._pending.strip(b"\r\n"))

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._pending + data if self._pending else data
        frames: list[Frame] = []
        position = 0
        size = len(buffer)
        while position < size:
            if buffer[position] in b"\r\n":  # heart-beat between frames
                position += 1
                continue
            head_end = buffer.find(HEADER_END, position)
            if head_end < 0:
                break
            head = buffer[position:head_end].replace(b"\r", b"")
            body_start = head_end + 2
            length_at = head.find(CONTENT_LENGTH)
            if length_at >= 0:
                value_start = length_at + len(CONTENT_LENGTH)
                value_end = head.find(b"\n", value_start)
                length = int(head[value_start : value_end if value_end >= 0 else len(head)])
                body_end = body_start + length
                if body_end >= size:
                    break
            else:
                body_end = buffer.find(b"\x00", body_start)
                if body_end < 0:
                    break
            command_end = head.find(b"\n")
            command = head if command_end < 0 else head[:command_end]
            frames.append(Frame(command, head, buffer[body_start:body_end]))
            position = body_end + 1
        self._pending = buffer[position:]
        return frames
