"""Property-based fuzzing of the frame parser, the session and the HTTP subscribers'
requests (hypothesis).

`make test` runs a few hundred examples; `make fuzz` runs many more (FUZZ_EXAMPLES, default
there 20,000). What no example may do: parse a stream differently depending on where it is
split, raise anything out of `Session.receive_data` (bad input gets an ERROR frame) or out of
an HTTP subscriber's request (bad input gets a status and its reason), whatever kind of
number a header or query holds, or hold up another client's messages, receipts and
heart-beats.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stomp_bytes import SECRET, Client, Clock, make_broker, read_frames
from websockets.exceptions import SecurityError
from websockets.http11 import Request
from websockets.streams import StreamReader

from broker.config import History
from broker.frames import CLIENT_COMMANDS, UNESCAPED_COMMANDS, Frame, FrameParser, encode_frame
from broker.http_subscribers import Refusal, authorize, parse_ask, poll_body, read, sse_body
from broker.tokens import issue_token

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


# Numbers of every kind, where a client sends a number: what int() takes and refuses, other
# scripts' digits, signs, exponents, floats, and more digits than int() reads (4,300).
NUMBERS = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["²", "１２", "٣", "-1", "+1", " 1", "1 ", "0x10", "1e309", "1_000", ""]),
    st.integers(1, 6_000).map(lambda digits: "9" * digits),
)
NUMBERED_HEADERS = st.sampled_from(
    ["content-length", "heart-beat", "prefetch-count", "x-stream-offset", "receipt", "id"]
)


@st.composite
def numbered_frames(draw: st.DrawFn) -> bytes:
    """A frame whose headers that take a number get any kind of one."""
    command = draw(st.sampled_from(["SUBSCRIBE", "SEND", "ACK", "NACK", "CONNECT"]))
    headers = {"destination": draw(DESTINATIONS), "receipt": "r"}
    for name in draw(st.lists(NUMBERED_HEADERS, max_size=3, unique=True)):
        number = draw(NUMBERS)
        headers[name] = f"offset={number}" if name == "x-stream-offset" else number
        if name == "heart-beat":
            headers[name] = f"{number},{draw(NUMBERS)}"
    head = "".join(f"{name}:{value}\n" for name, value in headers.items())
    return f"{command}\n{head}\n".encode() + draw(BODIES) + b"\x00"


@FUZZ
@given(sent=st.lists(numbered_frames(), min_size=1, max_size=6))
def test_numbers_of_every_kind_in_headers_get_frames_or_an_error(sent: list[bytes]) -> None:
    broker = make_broker(history=(History(pattern="/topic/#"),))
    client = Client(broker)
    client.send(CONNECT + b"".join(sent))
    replies = read_frames(client.raw(), client.session.version)
    assert replies[0].command in ("CONNECTED", "ERROR")
    assert all(reply.command != "ERROR" for reply in replies[:-1])


QUERY_NAMES = st.sampled_from(["destination", "offset", "wait", "access_token", "x"])
QUERY_VALUES = st.one_of(NUMBERS, TEXT, DESTINATIONS, st.just("/topic/feed.1"))
# Header values as they come on the wire: any bytes but the line's end.
HTTP_HEADER_VALUES = st.one_of(
    NUMBERS.map(str.encode), st.binary(max_size=40).map(lambda v: v.replace(b"\r", b""))
).map(lambda value: value.replace(b"\n", b""))


def parsed_request(target: str, headers: dict[str, bytes]) -> Request | None:
    """The request websockets' own parser makes of these bytes; None for one it refuses
    itself (websockets answers it 400)."""
    lines = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers.items())
    reader = StreamReader()
    reader.feed_data(f"GET {target} HTTP/1.1\r\n".encode() + lines + b"\r\n")
    parser = Request.parse(reader.read_line)
    try:
        next(parser)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    except (ValueError, SecurityError):
        return None
    raise AssertionError("the request's bytes were all given")


@FUZZ
@given(
    query=st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=12),
    headers=st.dictionaries(
        st.sampled_from(["Last-Event-ID", "Authorization", "Origin"]),
        HTTP_HEADER_VALUES,
        max_size=3,
    ),
    bearer=st.booleans(),
)
def test_any_http_subscriber_request_is_answered_or_refused_with_a_status(
    query: list[tuple[str, str]], headers: dict[str, bytes], bearer: bool
) -> None:
    broker = make_broker(history=(History(pattern="/topic/feed.*"),))
    if bearer:
        token = issue_token(
            secret=SECRET, subject="phone", read=("/topic/feed.*",), write=(), ttl_seconds=60
        )
        headers["Authorization"] = f"Bearer {token}".encode()
    request = parsed_request(f"/poll?{urlencode(query)}", headers)
    if request is None:
        return
    try:
        ask = parse_ask(request)
        authorize(broker, ask)
    except Refusal as refusal:
        assert 400 <= refusal.status < 600 and refusal.reason
        return
    answer = read(broker, ask, ask.offset)
    assert answer.resume in (None, "resumed", "too-old") and poll_body(ask, answer)
    assert sse_body(ask, answer).startswith("retry: ")


STEP_SECONDS = 0.5


@FUZZ
@given(hostile=st.lists(st.lists(session_frames(), max_size=4), min_size=1, max_size=6))
def test_a_hostile_client_never_holds_up_anothers_messages_receipts_and_heart_beats(
    hostile: list[list[bytes]],
) -> None:
    clock = Clock()
    broker = make_broker(clock)
    bystander = Client(broker)
    assert bystander.connect(extra="heart-beat:1000,1000\n").command == "CONNECTED"
    bystander.send("SUBSCRIBE\nid:good\ndestination:/topic/good\n\n\x00")
    attacker = Client(broker)
    attacker.send(CONNECT)
    for step, frames in enumerate(hostile):
        attacker.send(b"".join(frames))
        attacker.raw()  # it reads what it gets, or not: it cannot matter to the bystander
        bystander.send(f"\nSEND\ndestination:/topic/good\nreceipt:{step}\n\ngood-{step}\x00")
        clock.advance(STEP_SECONDS)
        broker.tick()
        got = read_frames(bystander.flush(), "1.2")
        assert ("MESSAGE", f"good-{step}".encode()) in [(f.command, f.body) for f in got]
        assert ("RECEIPT", str(step)) in [(f.command, f.headers.get("receipt-id")) for f in got]
    bystander.send("\n")
    clock.advance(1.0)  # nothing else to send it: its heart-beat is due
    broker.tick()
    assert b"\n" in bystander.flush() and not bystander.session.closing
