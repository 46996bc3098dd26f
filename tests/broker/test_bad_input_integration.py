"""Bad input gets an ERROR frame naming the problem, and never disturbs a well-behaved client."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import stomp
from inbox import Inbox
from real_broker import BrokerProcess, start_broker, user_table

WAIT_SECONDS = 5.0
SECRET = "test-secret-for-tokens-long-enough-for-hs256"
MAX_FRAME_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def strict_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker with a read-only user, tokens, a small frame limit and a small output buffer."""
    users = user_table("guest", "guest")
    users += user_table("reader", "reader", read='["/topic/public.*"]', write="[]")
    toml = (
        users
        + f"""
[tokens]
secret = "{SECRET}"

[http]
stats_users = ["guest"]

[limits]
max_frame_bytes = {MAX_FRAME_BYTES}
output_high_water_bytes = 16384
max_output_buffer_bytes = 131072
slow_consumer_grace_seconds = 1.0
"""
    )
    with start_broker(tmp_path_factory.mktemp("strict"), toml=toml, args=()) as broker:
        yield broker


@pytest.fixture
def bystander(strict_broker: BrokerProcess) -> Iterator[tuple[stomp.Connection, Inbox]]:
    """A well-behaved subscriber that must keep getting its messages whatever others do."""
    conn = stomp.Connection([("127.0.0.1", strict_broker.tcp_port)])
    inbox = Inbox()
    conn.set_listener("inbox", inbox)
    conn.connect("guest", "guest", wait=True)
    conn.subscribe("/topic/bystander", id="1", headers={"receipt": "ready"})
    inbox.next_receipt()
    yield conn, inbox
    conn.disconnect()


def still_served(bystander: tuple[stomp.Connection, Inbox]) -> bool:
    conn, inbox = bystander
    conn.send("/topic/bystander", "still here")
    return inbox.next_message().body == "still here"


def raw_exchange(
    broker: BrokerProcess,
    data: bytes,
    *,
    connect: bool = True,
    login: str = "guest",
    passcode: str = "guest",
) -> str:
    """Send raw bytes (after a CONNECT) and return everything until the broker closes."""
    with socket.create_connection(("127.0.0.1", broker.tcp_port), timeout=WAIT_SECONDS) as sock:
        if connect:
            sock.sendall(
                f"CONNECT\naccept-version:1.2\nhost:/\nlogin:{login}\npasscode:{passcode}\n\n\x00".encode()
            )
        received = b""
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionError:
            pass  # the broker may close before taking all of an oversized frame
    return received.decode(errors="replace")


def error_text(received: str) -> str:
    """The ERROR frame's headers and body, lower-cased, for loose matching."""
    assert "ERROR\n" in received, received
    return received[received.index("ERROR\n") :].lower()


@pytest.mark.parametrize(
    ("data", "connect", "expected"),
    [
        (b"\x01\x02garbage\xff\n\n\x00", False, "command"),
        (b"FROB\n\n\x00", True, "frob"),
        (
            b"SEND\ndestination:/topic/x\n\n" + b"x" * (MAX_FRAME_BYTES + 1) + b"\x00",
            True,
            "max_frame_bytes",
        ),
        (b"SEND\ndestination:/topic/x\nbad:\\q\n\n\x00", True, "escape"),
        (b"SEND\n\nno destination\x00", True, "destination"),
        ("SEND\ncontent-length:\u00b2\n\n\x00".encode(), False, "content-length"),
        ("CONNECT\nheart-beat:\u00b2,0\n\n\x00".encode(), False, "heart-beat"),
        (
            "SUBSCRIBE\nid:1\ndestination:/queue/p\nack:client\nprefetch-count:\u00b2\n\n\x00".encode(),
            True,
            "prefetch-count",
        ),
        # With its CONNECT, so that it waits for the passcode check and is handled in the
        # broker's write pass, which it once stopped for every connection in it.
        (
            b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"
            + b"".join(
                b"SUBSCRIBE\nid:%d\ndestination:/queue/p\nack:client\nprefetch-count:%s\n\n\x00"
                % (n, b"9" * 5000)
                for n in range(2)
            ),
            False,
            "prefetch-count",
        ),
    ],
    ids=[
        "garbage",
        "unknown-command",
        "oversized-frame",
        "bad-escape",
        "missing-destination",
        "superscript-content-length",
        "superscript-heart-beat",
        "superscript-prefetch-count",
        "huge-prefetch-counts-with-the-connect",
    ],
)
def test_bad_frame_gets_an_error_and_others_keep_receiving(
    strict_broker: BrokerProcess,
    bystander: tuple[stomp.Connection, Inbox],
    data: bytes,
    connect: bool,
    expected: str,
) -> None:
    assert expected in error_text(raw_exchange(strict_broker, data, connect=connect))
    assert still_served(bystander)


@pytest.mark.parametrize(
    ("frame", "destination"),
    [("SEND", "/topic/public.news"), ("SUBSCRIBE", "/topic/private.news")],
)
def test_missing_permission_is_refused(
    strict_broker: BrokerProcess,
    bystander: tuple[stomp.Connection, Inbox],
    frame: str,
    destination: str,
) -> None:
    data = f"{frame}\ndestination:{destination}\nid:1\n\nx\x00".encode()
    received = raw_exchange(strict_broker, data, login="reader", passcode="reader")
    assert destination in error_text(received)
    assert still_served(bystander)


@pytest.mark.parametrize("ttl_seconds", [60, -60], ids=["forged", "expired"])
def test_bad_token_is_refused(
    strict_broker: BrokerProcess,
    bystander: tuple[stomp.Connection, Inbox],
    ttl_seconds: int,
) -> None:
    from broker.tokens import issue_token

    secret = "not-the-broker-secret-but-long-enough" if ttl_seconds > 0 else SECRET
    token = issue_token(
        secret=secret, subject="mallory", read=("*",), write=("*",), ttl_seconds=ttl_seconds
    )
    received = raw_exchange(strict_broker, b"", login="mallory", passcode=token)
    assert "token" in error_text(received)
    assert still_served(bystander)


def test_subscriber_that_stops_reading_is_cut_and_others_keep_receiving(
    strict_broker: BrokerProcess,
    bystander: tuple[stomp.Connection, Inbox],
) -> None:
    conn, inbox = bystander
    with socket.create_connection(("127.0.0.1", strict_broker.tcp_port)) as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        stalled.sendall(
            b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"
            b"SUBSCRIBE\nid:1\ndestination:/topic/bystander\nreceipt:r\n\n\x00"
        )
        received = b""
        while b"receipt-id:r" not in received:
            received += stalled.recv(65536)
        body = "x" * 16384
        dropped = 0
        # The kernel's socket buffers take up to ~4 MiB before the broker's own buffer fills;
        # then the stalled reader is cut (past max_output_buffer_bytes, or after the grace
        # period), and the bystander never waits for it.
        for sent in range(1, 1001):
            conn.send("/topic/bystander", body)
            inbox.next_message()
            if sent % 10 == 0:
                stats = strict_broker.stats()
                dropped = stats["slow_consumers_dropped"]
                if dropped:
                    break
        # Its connection is reset, with what was queued for it: it would not read an ERROR.
        with pytest.raises(ConnectionResetError):
            while stalled.recv(1 << 20):
                pass
    assert dropped == 1
    assert "reason=error: slow consumer" in strict_broker.log()
    assert still_served(bystander)


def test_durable_queue_keeps_unacked_messages_across_restart(tmp_path: Path) -> None:
    toml = f'[store]\nkind = "sqlite"\ndirectory = "{tmp_path / "store"}"\n'
    with start_broker(tmp_path / "first", toml=toml) as broker:
        conn = stomp.Connection([("127.0.0.1", broker.tcp_port)])
        conn.connect("guest", "guest", wait=True)
        conn.send("/queue/durable", "kept", headers={"persistent": "true"}, receipt="sent")
        conn.disconnect()
        assert broker.stop() == 0
    with start_broker(tmp_path / "second", toml=toml) as broker:
        conn = stomp.Connection([("127.0.0.1", broker.tcp_port)])
        inbox = Inbox()
        conn.set_listener("inbox", inbox)
        conn.connect("guest", "guest", wait=True)
        conn.subscribe("/queue/durable", id="1")
        assert inbox.next_message().body == "kept"
        conn.disconnect()
