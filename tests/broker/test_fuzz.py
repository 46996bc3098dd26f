"""Property-based fuzzing of the frame parser and the session (hypothesis).

`make test` runs a few hundred examples; `make fuzz` runs many more (FUZZ_EXAMPLES, default
there 20,000). What no example may do: parse a stream differently depending on where it is
split, or raise anything out of `Session.receive_data` (bad input gets an ERROR frame).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stomp_bytes import Client, make_broker, read_frames

from broker.frames import CLIENT_COMMANDS, UNESCAPED_COMMANDS, Frame, FrameParser, encode_frame

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMITS = {"max_frame_bytes": 4096, "max_headers": 20, "max_header_bytes": 512}

TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
NAMES = st.text(st.characters(codec="utf-8", exclude_characters="\x00:\r\n"), max_size=8)
BODIES = st.binary(max_size=64)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """A well-formed client frame: any command, headers with any text, a body with NULs."""
    command = draw(st.sampled_from(CLIENT_COMMANDS))
    names = NAMES if command not in UNESCAPED_COMMANDS else NAMES.filter(lambda n: "\\" not in n)
    values = TEXT if command not in UNESCAPED_COMMANDS else NAMES.filter(lambda n: "\\" not in n)
    headers = draw(st.dictionaries(names, values, max_size=5))
    body = draw(BODIES)
    headers.pop("content-length", None)
    return Frame(command, {"content-length": str(len(body)), **headers}, body)


def parse(chunks: list[bytes]) -> list[Frame]:
    parser = FrameParser(**LIMITS)
    parser.version = "1.2"
    parsed = []
    for chunk in chunks:
        parser.feed(chunk)
        while (frame := parser.next_frame()) is not None:
            parsed.append(frame)
    return parsed


@FUZZ
@given(st.lists(st.tuples(frames(), st.sampled_from([b"", b"\n", b"\r\n", b"\n\n"])), max_size=4))
def test_frames_survive_encoding_and_every_split_point(
    stream: list[tuple[Frame, bytes]],
) -> None:
    data = b"".join(
        beats + encode_frame(f.command, list(f.headers.items()), f.body, version="1.2")
        for f, beats in stream
    )
    whole = parse([data])
    assert whole == [frame for frame, _ in stream]
    for split in range(len(data) + 1):
        assert parse([data[:split], data[split:]]) == whole


DESTINATIONS = st.sampled_from(
    ["/topic/a", "/topic/a.b", "/topic/*.b", "/topic/#", "/queue/q", "/queue/r", "/x", ""]
)
HEADER_VALUES = st.one_of(
    DESTINATIONS,
    st.sampled_from(["1", "2", "0", "auto", "client", "client-individual", "t1", "²", "9" * 30]),
    TEXT,
)
HEADER_NAMES = st.sampled_from(
    [
        "destination",
        "id",
        "ack",
        "receipt",
        "transaction",
        "content-length",
        "message-id",
        "heart-beat",
        "accept-version",
        "login",
        "passcode",
        "x",
    ]
)


@st.composite
def session_frames(draw: st.DrawFn) -> bytes:
    """A frame a client might send, right or wrong, or some stray bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=40))
    command = draw(st.sampled_from(CLIENT_COMMANDS))
    headers = draw(st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5))
    body = draw(BODIES)
    head = "".join(f"{name}:{value}\n" for name, value in headers.items())
    return f"{command}\n{head}\n".encode() + body + b"\x00"


CONNECT = b"CONNECT\naccept-version:1.0,1.1,1.2\nlogin:guest\npasscode:guest\nhost:/\n\n\x00"


@FUZZ
@given(
    connect_first=st.booleans(),
    sent=st.lists(session_frames(), max_size=8),
    chunk=st.integers(1, 64),
)
def test_any_input_gets_frames_or_an_error_never_an_exception(
    connect_first: bool, sent: list[bytes], chunk: int
) -> None:
    broker = make_broker()
    peer = Client(broker)
    assert peer.connect().command == "CONNECTED"
    peer.subscribe("/topic/#")
    client = Client(broker)
    data = (CONNECT if connect_first else b"") + b"".join(sent)
    for start in range(0, len(data), chunk):
        client.send(data[start : start + chunk])
    replies = read_frames(client.raw(), client.session.version)
    if client.session.closing and client.session.close_reason != "client disconnected":
        assert replies[-1].command == "ERROR"
    assert all(reply.command != "ERROR" for reply in replies[:-1])
    peer.publish("/topic/still", "served")
    assert read_frames(peer.raw())[-1].body == b"served"
