"""The frame parser and encoder on bytes alone, including everywhere coilmq gets STOMP wrong."""

from __future__ import annotations

import pytest

from broker.frames import FrameError, FrameParser, encode_frame, escape, unescape


def parser(version: str = "1.2", **limits: int) -> FrameParser:
    settings = {"max_frame_bytes": 1024, "max_headers": 10, "max_header_bytes": 100} | limits
    frame_parser = FrameParser(**settings)
    frame_parser.version = version
    return frame_parser


def parse_all(frame_parser: FrameParser, data: bytes) -> list:
    frame_parser.feed(data)
    frames = []
    while (frame := frame_parser.next_frame()) is not None:
        frames.append(frame)
    return frames


def test_newlines_between_frames_are_heart_beats_not_a_stall() -> None:
    frames = parse_all(parser(), b"\n\r\nSEND\ndestination:/topic/a\n\nx\x00\n\nSEND\n\ny\x00\n")
    assert [frame.body for frame in frames] == [b"x", b"y"]


def test_a_frame_split_anywhere_arrives_whole() -> None:
    data = b"SEND\ndestination:/topic/a\ncontent-length:3\n\na\x00b\x00"
    frame_parser = parser()
    frames = []
    for byte in data:
        frames += parse_all(frame_parser, bytes([byte]))
    assert [(f.command, f.body) for f in frames] == [("SEND", b"a\x00b")]


def test_header_value_may_contain_colons() -> None:
    (frame,) = parse_all(parser("1.0"), b"SEND\nx-url:http://h:80/p\n\n\x00")
    assert frame.headers["x-url"] == "http://h:80/p"


def test_repeated_header_keeps_its_first_value() -> None:
    (frame,) = parse_all(parser(), b"SEND\nfoo:first\nfoo:second\n\n\x00")
    assert frame.headers["foo"] == "first"


def test_content_length_counts_bytes_and_allows_nul_in_the_body() -> None:
    body = "é\x00ü".encode()
    data = b"SEND\ncontent-length:%d\n\n%s\x00" % (len(body), body)
    (frame,) = parse_all(parser(), data)
    assert frame.body == body


def test_crlf_line_endings_are_accepted() -> None:
    (frame,) = parse_all(parser(), b"SEND\r\ndestination:/topic/a\r\n\r\nbody\x00")
    assert frame.headers == {"destination": "/topic/a"} and frame.body == b"body"


@pytest.mark.parametrize(
    ("version", "raw", "value"),
    [
        ("1.2", "a\\cb\\nc\\\\d\\re", "a:b\nc\\d\re"),
        ("1.1", "a\\cb\\nc\\\\d", "a:b\nc\\d"),
        ("1.0", "a\\cb", "a\\cb"),
    ],
)
def test_header_values_are_unescaped_per_version(version: str, raw: str, value: str) -> None:
    (frame,) = parse_all(parser(version), f"SEND\nh:{raw}\n\n\x00".encode())
    assert frame.headers["h"] == value


def test_connect_headers_are_never_unescaped() -> None:
    (frame,) = parse_all(parser("1.2"), b"CONNECT\npasscode:a\\cb\n\n\x00")
    assert frame.headers["passcode"] == "a\\cb"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_escape_round_trips(version: str) -> None:
    value = "a:b\nc\\d"
    assert unescape(escape(value, version), version, name="h") == value


def test_encoded_frame_escapes_headers_but_connected_does_not() -> None:
    assert (
        encode_frame("MESSAGE", [("h", "a:b")], b"x", version="1.2") == b"MESSAGE\nh:a\\cb\n\nx\x00"
    )
    assert encode_frame("CONNECTED", [("h", "a:b")], version="1.2") == b"CONNECTED\nh:a:b\n\n\x00"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x01\x02garbage\xff\n\n\x00", "unknown command"),
        (b"FROB\n\n\x00", "unknown command 'FROB'"),
        (b"SEND\nbad:\\q\n\n\x00", "invalid escape sequence '\\q' in header 'bad'"),
        (b"SEND\nno colon here\n\n\x00", "has no ':'"),
        (b"SEND\ncontent-length:abc\n\n\x00", "content-length must be a number"),
        (b"SEND\ncontent-length:1\n\nxy\x00", "longer than its content-length"),
        (b"SEND\ncontent-length:5000\n\n", "larger than limits.max_frame_bytes=1024"),
        (b"SEND\n\n" + b"x" * 1025, "larger than limits.max_frame_bytes=1024"),
        (b"SEND\n" + b"h:v\n" * 11 + b"\n\x00", "more than limits.max_headers=10"),
        (b"SEND\nh:" + b"v" * 100 + b"\n\n\x00", "more than limits.max_header_bytes=100"),
        (b"SEND\nh:\xff\n\n\x00", "not valid UTF-8"),
    ],
    ids=[
        "garbage",
        "unknown-command",
        "bad-escape",
        "header-without-colon",
        "content-length-not-a-number",
        "body-longer-than-content-length",
        "content-length-over-limit",
        "body-over-limit",
        "too-many-headers",
        "header-too-long",
        "headers-not-utf8",
    ],
)
def test_bad_bytes_raise_a_frame_error_saying_what_is_wrong(data: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=None) as caught:
        parse_all(parser(), data)
    assert reason in str(caught.value)


def test_garbage_is_refused_as_soon_as_its_first_line_ends() -> None:
    with pytest.raises(FrameError, match="unknown command"):
        parse_all(parser(), b"GET / HTTP/1.1\r\n")


@pytest.mark.timeout(20)
def test_a_long_head_in_small_writes_is_scanned_once() -> None:
    """8 MB of headers in 100-byte writes: rescanning from the start each time took minutes."""
    frame_parser = parser(max_headers=1000, max_header_bytes=8192, max_frame_bytes=1 << 24)
    line = b"h:" + b"v" * 8000 + b"\n"
    data = b"SEND\n" + line * 999 + b"\nbody\x00"
    for start in range(0, len(data), 100):
        frame_parser.feed(data[start : start + 100])
        frame = frame_parser.next_frame()
    assert frame is not None and frame.body == b"body"


@pytest.mark.timeout(20)
def test_a_long_first_line_in_small_writes_is_scanned_once() -> None:
    frame_parser = parser(max_headers=1000, max_header_bytes=8192)
    for _ in range(80_000):
        frame_parser.feed(b"S" * 100)
        frame_parser.next_frame()
    with pytest.raises(FrameError, match="unknown command"):
        parse_all(frame_parser, b"\n")
