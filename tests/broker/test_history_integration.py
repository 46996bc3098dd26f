"""History and resume over real sockets: a subscriber whose connection dropped comes back and
gets exactly what it missed, in order, then live messages; or "too old" past the window."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from raw_stomp import RawStomp, websocket_frames
from real_broker import BrokerProcess, start_broker, user_table
from websockets.sync.client import connect

from broker.client import client_frame, connect_frame
from broker.frames import Frame

MAX_MESSAGES = 3
MAX_AGE_SECONDS = 0.5
TOML = (
    user_table("guest", "guest")
    + f"""
[[history]]
pattern = "/topic/count.*"
max_messages = {MAX_MESSAGES}

[[history]]
pattern = "/topic/age.*"
max_age_seconds = {MAX_AGE_SECONDS}
"""
)


@pytest.fixture(scope="module")
def history_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with start_broker(tmp_path_factory.mktemp("history"), toml=TOML, args=()) as broker:
        yield broker


def client(broker: BrokerProcess) -> RawStomp:
    stomp = RawStomp(broker.tcp_port)
    assert stomp.connect().command == "CONNECTED"
    return stomp


def publish(publisher: RawStomp, destination: str, *bodies: str) -> None:
    """Send `bodies`, and wait until the broker has routed the last of them (its RECEIPT)."""
    for index, body in enumerate(bodies):
        receipt = f"receipt:sent-{index}\n" if index == len(bodies) - 1 else ""
        publisher.send(f"SEND\ndestination:{destination}\n{receipt}\n{body}\x00")
    assert publisher.next_frame().command == "RECEIPT"


def subscribe(stomp: RawStomp, destination: str, extra: str = "") -> list[Frame]:
    """SUBSCRIBE with a receipt: the frames up to and including its RECEIPT (or an ERROR)."""
    stomp.send(f"SUBSCRIBE\nid:s\ndestination:{destination}\nreceipt:subscribed\n{extra}\n\x00")
    frames = [stomp.next_frame()]
    while frames[-1].command not in ("RECEIPT", "ERROR"):
        frames.append(stomp.next_frame())
    return frames


def last_offset_before_a_drop(broker: BrokerProcess, destination: str, *bodies: str) -> int:
    """A subscriber gets `bodies`, remembers the last offset, and its socket drops."""
    subscriber = client(broker)
    subscribe(subscriber, destination)
    publish(client(broker), destination, *bodies)
    offsets = [int(subscriber.next_frame().headers["x-stream-offset"]) for _ in bodies]
    subscriber.close()
    return offsets[-1]


def test_resume_after_a_drop_gets_exactly_the_missed_messages_then_live_ones(
    history_broker: BrokerProcess,
) -> None:
    topic = "/topic/count.resume"
    last = last_offset_before_a_drop(history_broker, topic, "seen")
    publisher = client(history_broker)
    publish(publisher, topic, "missed-1", "missed-2")
    back = client(history_broker)
    frames = subscribe(back, topic, f"x-stream-offset:offset={last + 1}\n")
    publish(publisher, topic, "live")
    frames.append(back.next_frame())
    assert [(f.command, f.body) for f in frames] == [
        ("MESSAGE", b"missed-1"),
        ("MESSAGE", b"missed-2"),
        ("RECEIPT", b""),
        ("MESSAGE", b"live"),
    ]
    assert frames[2].headers["x-stream-resume"] == "resumed"
    assert [int(f.headers["x-stream-offset"]) for f in frames if f.body] == [
        last + 1,
        last + 2,
        last + 3,
    ]


def test_resume_over_websocket_gets_the_missed_messages_before_its_receipt(
    history_broker: BrokerProcess,
) -> None:
    topic = "/topic/count.websocket"
    last = last_offset_before_a_drop(history_broker, topic, "seen")
    publish(client(history_broker), topic, "missed")
    with connect(history_broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(connect_frame("guest", "guest"))
        frames = websocket_frames(ws)
        assert next(frames).command == "CONNECTED"
        ws.send(
            client_frame(
                "SUBSCRIBE",
                {
                    "id": "1",
                    "destination": topic,
                    "x-stream-offset": f"offset={last + 1}",
                    "receipt": "resumed",
                },
            )
        )
        got = [next(frames), next(frames)]
    assert [(f.command, f.body) for f in got] == [("MESSAGE", b"missed"), ("RECEIPT", b"")]
    assert got[1].headers["x-stream-resume"] == "resumed"


def test_resume_past_max_messages_is_told_too_old_and_stays_subscribed(
    history_broker: BrokerProcess,
) -> None:
    topic = "/topic/count.overflow"
    last = last_offset_before_a_drop(history_broker, topic, "seen")
    publisher = client(history_broker)
    publish(publisher, topic, *(f"missed-{n}" for n in range(MAX_MESSAGES + 1)))
    back = client(history_broker)
    frames = subscribe(back, topic, f"x-stream-offset:offset={last + 1}\n")
    assert [(f.command, f.headers.get("x-stream-resume")) for f in frames] == [
        ("RECEIPT", "too-old")
    ]
    publish(publisher, topic, "live")
    assert back.next_frame().body == b"live"


def test_resume_past_max_age_is_told_too_old(history_broker: BrokerProcess) -> None:
    topic = "/topic/age.window"
    last = last_offset_before_a_drop(history_broker, topic, "seen")
    publish(client(history_broker), topic, "missed")
    time.sleep(MAX_AGE_SECONDS * 2)  # what this waits for is the window itself going by
    frames = subscribe(client(history_broker), topic, f"x-stream-offset:offset={last + 1}\n")
    assert [f.headers.get("x-stream-resume") for f in frames] == ["too-old"]


def test_a_subscriber_without_the_header_sees_only_live_messages(
    history_broker: BrokerProcess,
) -> None:
    topic = "/topic/count.plain"
    publisher = client(history_broker)
    publish(publisher, topic, "before")
    subscriber = client(history_broker)
    frames = subscribe(subscriber, topic)
    publish(publisher, topic, "after")
    frames.append(subscriber.next_frame())
    assert [(f.command, f.body) for f in frames] == [("RECEIPT", b""), ("MESSAGE", b"after")]
    assert "x-stream-resume" not in frames[0].headers


def test_a_bad_resume_gets_an_error_and_others_keep_receiving(
    history_broker: BrokerProcess,
) -> None:
    topic = "/topic/count.bad"
    bystander = client(history_broker)
    subscribe(bystander, topic)
    bad = client(history_broker)
    error = subscribe(bad, "/topic/count.*", "x-stream-offset:offset=1\n")[-1]
    assert error.command == "ERROR"
    assert error.headers["message"].startswith(
        "x-stream-offset resumes one topic, not /topic/count.*"
    )
    publish(client(history_broker), topic, "still")
    assert bystander.next_frame().body == b"still"
