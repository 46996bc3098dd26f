"""STOMP frames as bytes: an incremental parser for what clients send, and the encoder for
what the broker sends. No I/O; every malformed input raises FrameError with a reason that
can go straight into an ERROR frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

VERSIONS = ("1.0", "1.1", "1.2")
CLIENT_COMMANDS = (
    "CONNECT",
    "STOMP",
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
)
SERVER_COMMANDS = ("CONNECTED", "MESSAGE", "RECEIPT", "ERROR")
# CONNECT and CONNECTED headers are never escaped, in any version (STOMP 1.2, "Value Encoding").
UNESCAPED_COMMANDS = frozenset({"CONNECT", "STOMP", "CONNECTED"})

_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPES = {
    "1.1": {"n": "\n", "c": ":", "\\": "\\"},
    "1.2": {"n": "\n", "c": ":", "\\": "\\", "r": "\r"},
}
# A line break the version cannot escape is dropped: written raw, it would end the header
# line and let a value forge headers or whole frames (STOMP 1.0 escapes nothing, 1.1 no CR).
_ESCAPES = {
    "1.0": str.maketrans({"\n": None, "\r": None}),
    "1.1": str.maketrans({"\\": "\\\\", "\n": "\\n", ":": "\\c", "\r": None}),
    "1.2": str.maketrans({"\\": "\\\\", "\n": "\\n", ":": "\\c", "\r": "\\r"}),
}
_HEARTBEAT_BYTES = b"\r\n"


_DIGITS = re.compile(r"[0-9]+")


def decimal(text: str, *, max_digits: int = 15) -> int | None:
    """A number from a client (a header, a query field): ASCII digits, at most `max_digits`
    of them, else None, for the caller to refuse saying what it expected.

    Every number a client sends is read here. Not `str.isdigit()` and `int()`: they take `²`
    (then int() raises), and int() refuses more than 4,300 digits with a ValueError of its
    own; either, uncaught, once ended the broker's write pass for every connection in it.
    """
    if len(text) > max_digits or not _DIGITS.fullmatch(text):
        return None
    return int(text)


class FrameError(ValueError):
    """Bytes that are not a valid STOMP frame; the message says what is wrong."""


@dataclass(slots=True)
class Frame:
    """One parsed frame; repeated headers keep their first value, as the spec requires."""

    command: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def escape(value: str, version: str) -> str:
    """Escape a header value for `version`; 1.0 has no escaping, so line breaks are dropped."""
    return value.translate(_ESCAPES[version])


def unescape(value: str, version: str, *, name: str) -> str:
    """Undo header escaping; an escape the version does not define is an error."""
    if "\\" not in value:
        return value
    table = _UNESCAPES.get(version)
    if table is None:
        return value

    def replace(match: re.Match[str]) -> str:
        try:
            return table[match.group(1)]
        except KeyError:
            raise FrameError(
                f"invalid escape sequence '\\{match.group(1)}' in header {name!r} "
                f"(STOMP {version} allows \\n, \\c, \\\\" + (", \\r)" if version == "1.2" else ")")
            ) from None

    return _ESCAPE.sub(replace, value)


def encode_headers(headers: Iterable[tuple[str, str]], version: str) -> bytes:
    """`name:value` lines, escaped for `version`, each ending in a newline; never a raw CR or
    LF inside a line, whatever the version."""
    table = _ESCAPES[version]
    lines = [f"{name.translate(table)}:{value.translate(table)}\n" for name, value in headers]
    return "".join(lines).encode()


def encode_frame(
    command: str, headers: Iterable[tuple[str, str]], body: bytes = b"", *, version: str
) -> bytes:
    """A whole frame; callers add content-length themselves where the body needs it."""
    escaped = command not in UNESCAPED_COMMANDS
    head = encode_headers(headers, version if escaped else "1.0")
    return b"".join((command.encode(), b"\n", head, b"\n", body, b"\x00"))


class FrameParser:
    """Turns a byte stream into frames, with newlines between frames taken as heart-beats.

    Limits are checked as bytes arrive, so an oversized frame is refused before it is
    buffered whole. It reads what clients send; `ServerFrameParser` reads what brokers send.
    """

    COMMANDS = CLIENT_COMMANDS
    SIDE = "client"

    def __init__(self, *, max_frame_bytes: int, max_headers: int, max_header_bytes: int) -> None:
        self.version = "1.0"
        self._max_frame_bytes = max_frame_bytes
        self._max_headers = max_headers
        self._max_header_bytes = max_header_bytes
        self._max_head_bytes = (max_headers + 1) * (max_header_bytes + 2)
        self._buffer = bytearray()
        # Where the searches of the frame being received resume, so bytes arriving a few at a
        # time are each looked at once (rescanning from the start was quadratic).
        self._command_checked = False
        self._head_search_from = 0
        self._head: tuple[str, dict[str, str], int] | None = None
        self._nul_search_from = 0

    def feed(self, data: bytes) -> None:
        """Buffer received bytes; `next_frame()` takes the frames out one at a time."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet taken out as frames."""
        return len(self._buffer)

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None until more bytes arrive.

        One at a time, because a CONNECT changes the version the frames after it are read in.
        """
        buffer = self._buffer
        if self._head_search_from == 0:
            beats = 0
            while beats < len(buffer) and buffer[beats] in _HEARTBEAT_BYTES:
                beats += 1
            del buffer[:beats]
        if not buffer:
            return None
        frame, end = self._parse_one(buffer)
        if frame is not None:
            del buffer[:end]
            self._command_checked = False
            self._head_search_from = 0
            self._head = None
            self._nul_search_from = 0
        return frame

    def _parse_one(self, buffer: bytearray) -> tuple[Frame | None, int]:
        """The frame at the start of `buffer` and where it ends, or (None, 0) while incomplete."""
        if self._head is None:
            # A match may straddle the old end: `\r\n\r\n` is at most 4 bytes.
            match = _END_OF_HEADERS.search(buffer, max(0, self._head_search_from - 3))
            if match is None:
                if len(buffer) > self._max_head_bytes:
                    self._check_head(bytes(buffer[: self._max_head_bytes]))
                    raise FrameError(
                        f"frame headers are longer than {self._max_head_bytes} bytes "
                        f"(limits.max_headers={self._max_headers}, "
                        f"limits.max_header_bytes={self._max_header_bytes})"
                    )
                if not self._command_checked:
                    self._check_command(buffer, self._head_search_from)
                self._head_search_from = len(buffer)
                return None, 0
            command, headers = self._parse_head(bytes(buffer[: match.start()]))
            self._head = (command, headers, match.end())
            self._head_search_from = len(buffer)
        command, headers, body_start = self._head
        length_text = headers.get("content-length")
        if length_text is not None:
            length = self._content_length(length_text)
            body_end = body_start + length
            if len(buffer) <= body_end:
                return None, 0
            if buffer[body_end] != 0:
                raise FrameError(
                    f"{command} frame body is longer than its content-length {length} "
                    "(the byte after the body must be NUL)"
                )
        else:
            search_from = max(body_start, self._nul_search_from)
            body_end = buffer.find(0, search_from)
            if body_end < 0:
                if len(buffer) - body_start > self._max_frame_bytes:
                    raise FrameError(
                        f"{command} frame is larger than limits.max_frame_bytes="
                        f"{self._max_frame_bytes} bytes"
                    )
                self._nul_search_from = len(buffer)
                return None, 0
            if body_end - body_start > self._max_frame_bytes:
                raise FrameError(
                    f"{command} frame body of {body_end - body_start} bytes is larger than "
                    f"limits.max_frame_bytes={self._max_frame_bytes}"
                )
        return Frame(command, headers, bytes(buffer[body_start:body_end])), body_end + 1

    def _content_length(self, text: str) -> int:
        length = decimal(text)
        if length is None:
            raise FrameError(
                f"content-length must be a number of bytes (at most 15 ASCII digits), "
                f"got {text[:40]!r}"
            )
        if length > self._max_frame_bytes:
            raise FrameError(
                f"content-length {length} is larger than limits.max_frame_bytes="
                f"{self._max_frame_bytes}"
            )
        return length

    def _check_command(self, buffer: bytearray, search_from: int) -> None:
        """Refuse garbage as soon as its first line is complete, without waiting for more."""
        newline = buffer.find(b"\n", search_from)
        if newline >= 0:
            self._command(bytes(buffer[:newline]))
            self._command_checked = True

    def _check_head(self, head: bytes) -> None:
        self._command(head.split(b"\n", 1)[0])

    def _command(self, line: bytes) -> str:
        command = line.rstrip(b"\r").decode("ascii", errors="backslashreplace")
        if command not in self.COMMANDS:
            raise FrameError(
                f"unknown command {command[:40]!r}: a {self.SIDE} frame starts with one of "
                f"{', '.join(self.COMMANDS)}"
            )
        return command

    def _parse_head(self, head: bytes) -> tuple[str, dict[str, str]]:
        lines = head.split(b"\n")
        command = self._command(lines[0])
        if len(lines) - 1 > self._max_headers:
            raise FrameError(
                f"{command} frame has {len(lines) - 1} headers, more than "
                f"limits.max_headers={self._max_headers}"
            )
        version = "1.0" if command in UNESCAPED_COMMANDS else self.version
        headers: dict[str, str] = {}
        for raw in lines[1:]:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if len(line) > self._max_header_bytes:
                raise FrameError(
                    f"a {command} header is {len(line)} bytes long, more than "
                    f"limits.max_header_bytes={self._max_header_bytes}"
                )
            try:
                text = line.decode()
            except UnicodeDecodeError:
                raise FrameError(f"{command} frame headers are not valid UTF-8") from None
            if "\x00" in text:
                raise FrameError(f"{command} header line {text[:60]!r} contains NUL")
            name, colon, value = text.partition(":")
            if not colon:
                raise FrameError(f"{command} header line {text[:60]!r} has no ':'")
            name = unescape(name, version, name=name)
            if name not in headers:
                headers[name] = unescape(value, version, name=name)
        return command, headers


class ServerFrameParser(FrameParser):
    """The same parser for a client's side of the wire: CONNECTED, MESSAGE, RECEIPT, ERROR.

    Set `version` once CONNECTED says which one the server speaks (its headers are never
    escaped); limits default to what a test or tool would take from any broker.
    """

    COMMANDS = SERVER_COMMANDS
    SIDE = "server"

    def __init__(
        self,
        *,
        max_frame_bytes: int = 64 * 1024 * 1024,
        max_headers: int = 1000,
        max_header_bytes: int = 64 * 1024,
    ) -> None:
        super().__init__(
            max_frame_bytes=max_frame_bytes,
            max_headers=max_headers,
            max_header_bytes=max_header_bytes,
        )
