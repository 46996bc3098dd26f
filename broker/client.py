"""A STOMP client's side of the wire, without I/O: the frames a client sends, and a reader of
what a broker sends, on the broker's own parser. The tests, the bench and tools share it, so
the project has one STOMP codec, not one per test file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from broker.frames import Frame, ServerFrameParser, encode_frame

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def client_frame(
    command: str, headers: Headers = (), body: bytes | str = b"", *, version: str = "1.2"
) -> bytes:
    """A frame as a client sends it: headers escaped for `version` (a CONNECT's never are),
    and a content-length whenever there is a body."""
    data = body.encode() if isinstance(body, str) else body
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    if data:
        pairs.append(("content-length", str(len(data))))
    return encode_frame(command, pairs, data, version=version)


def connect_frame(
    login: str | None,
    passcode: str | None,
    heart_beat: str = "0,0",
    *,
    version: str = "1.2",
    host: str | None = "/",
) -> bytes:
    """CONNECT for one STOMP version, by default without heart-beats, so an idle connection
    stays idle; None leaves a header out (no login or passcode: anonymous)."""
    headers = {"accept-version": version, "host": host, "login": login, "passcode": passcode}
    headers["heart-beat"] = heart_beat
    present = {name: value for name, value in headers.items() if value is not None}
    return client_frame("CONNECT", present, version=version)


class ServerFrames:
    """Feed it what a broker sends; it returns the complete frames, heart-beats skipped, and
    reads the frames after CONNECTED in the version that CONNECTED names."""

    def __init__(self, version: str = "1.2") -> None:
        self._parser = ServerFrameParser()
        self._parser.version = version

    def feed(self, data: bytes) -> list[Frame]:
        self._parser.feed(data)
        frames = []
        while (frame := self._parser.next_frame()) is not None:
            if frame.command == "CONNECTED":
                self._parser.version = frame.headers.get("version", "1.0")
            frames.append(frame)
        return frames

    @property
    def pending(self) -> bool:
        """Whether part of a frame is buffered."""
        return self._parser.buffered > 0


def read_frames(data: bytes, version: str = "1.2") -> list[Frame]:
    """Every frame in `data`, which must end at a frame's end; header values are unescaped
    as `version` says until a CONNECTED names another."""
    reader = ServerFrames(version)
    frames = reader.feed(data)
    if reader.pending:
        raise ValueError(f"{len(data)} bytes end inside a frame: {data[-80:]!r}")
    return frames
