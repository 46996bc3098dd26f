"""Logins against a real broker process: passcode hashing off the event loop, and logins
restricted to some listeners or to loopback addresses."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from real_broker import BrokerProcess, start_broker
from websockets.sync.client import connect as ws_connect

from broker.auth import hash_passcode

WAIT_SECONDS = 10.0
# About half a second of PBKDF2 here: long enough that a client served meanwhile is
# served while it runs, not after.
SLOW_ITERATIONS = 2_000_000


def connect_frame(login: str, passcode: str) -> bytes:
    return (
        f"CONNECT\naccept-version:1.2\nhost:/\nlogin:{login}\npasscode:{passcode}\n\n\x00".encode()
    )


def read_frame(sock: socket.socket) -> bytes:
    """Bytes up to the end of the next frame (this test's frames have no NUL in bodies)."""
    received = b""
    while not received.endswith(b"\x00"):
        chunk = sock.recv(1)
        if not chunk:
            break
        received += chunk
    return received.lstrip(b"\r\n")


@pytest.fixture(scope="module")
def auth_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """Listening on every address, with a slow-to-check login and two restricted ones."""
    fast = hash_passcode("guest")
    toml = f"""
[[users]]
login = "guest"
passcode_hash = "{fast}"

[[users]]
login = "slow"
passcode_hash = "{hash_passcode("slow", iterations=SLOW_ITERATIONS)}"

[[users]]
login = "publisher"
passcode_hash = "{fast}"
listeners = ["tcp"]

[[users]]
login = "local"
passcode_hash = "{fast}"
loopback_only = true
"""
    directory = tmp_path_factory.mktemp("auth")
    with start_broker(directory, toml=toml, args=(), host="0.0.0.0") as broker:
        yield broker


def outside_address() -> str:
    """This machine's address on its network (not loopback), or skip the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


def test_a_slow_passcode_check_does_not_hold_up_other_clients(auth_broker: BrokerProcess) -> None:
    address = ("127.0.0.1", auth_broker.tcp_port)
    with (
        socket.create_connection(address, timeout=WAIT_SECONDS) as bystander,
        socket.create_connection(address, timeout=WAIT_SECONDS) as slow,
    ):
        bystander.sendall(
            connect_frame("guest", "guest")
            + b"SUBSCRIBE\nid:1\ndestination:/topic/meanwhile\nreceipt:r\n\n\x00"
        )
        assert read_frame(bystander).startswith(b"CONNECTED")
        assert read_frame(bystander).startswith(b"RECEIPT")
        slow.sendall(connect_frame("slow", "wrong"))
        bystander.sendall(b"SEND\ndestination:/topic/meanwhile\n\nserved\x00")
        assert read_frame(bystander).endswith(b"\n\nserved\x00")
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.recv(1)  # still hashing
        slow.settimeout(WAIT_SECONDS)
        assert b"login failed" in read_frame(slow)


# Unauthenticated CONNECTs from one address at once: with one hashing thread, checking them
# all would take longer than a CONNECT may wait (10 s).
FLOOD = 600


def test_a_flood_of_logins_to_check_is_refused_and_a_login_checked_before_still_gets_in(
    auth_broker: BrokerProcess,
) -> None:
    address = ("127.0.0.1", auth_broker.tcp_port)
    with socket.create_connection(address, timeout=WAIT_SECONDS) as first:
        first.sendall(connect_frame("guest", "guest"))
        assert read_frame(first).startswith(b"CONNECTED")
    flood = [socket.create_connection(address, timeout=WAIT_SECONDS) for _ in range(FLOOD)]
    try:
        for n, sock in enumerate(flood):
            sock.sendall(connect_frame(f"nobody{n}", "guess"))
        with socket.create_connection(address, timeout=WAIT_SECONDS) as again:
            again.sendall(connect_frame("guest", "guest"))
            assert read_frame(again).startswith(b"CONNECTED")
        answers = [read_frame(sock) for sock in flood]
    finally:
        for sock in flood:
            sock.close()
    refused = [answer for answer in answers if b"limits.max_pending_logins" in answer]
    # Checks end while the flood comes in, each freeing its place for another.
    assert len(refused) >= FLOOD // 2, answers[-1]


def test_a_tcp_only_login_is_accepted_over_tcp(auth_broker: BrokerProcess) -> None:
    with socket.create_connection(("127.0.0.1", auth_broker.tcp_port), timeout=5) as sock:
        sock.sendall(connect_frame("publisher", "guest"))
        assert read_frame(sock).startswith(b"CONNECTED")


def test_a_tcp_only_login_is_refused_over_websocket(auth_broker: BrokerProcess) -> None:
    with ws_connect(auth_broker.ws_url) as ws:
        ws.send(connect_frame("publisher", "guest").decode())
        reply = ws.recv(timeout=WAIT_SECONDS)
    text = reply if isinstance(reply, str) else reply.decode()
    assert text.startswith("ERROR") and "may not connect over ws" in text


def test_a_loopback_only_login_is_accepted_from_loopback(auth_broker: BrokerProcess) -> None:
    with socket.create_connection(("127.0.0.1", auth_broker.tcp_port), timeout=5) as sock:
        sock.sendall(connect_frame("local", "guest"))
        assert read_frame(sock).startswith(b"CONNECTED")


def test_a_loopback_only_login_is_refused_from_another_address(
    auth_broker: BrokerProcess,
) -> None:
    with socket.create_connection((outside_address(), auth_broker.tcp_port), timeout=5) as sock:
        sock.sendall(connect_frame("local", "guest"))
        error = read_frame(sock)
    assert error.startswith(b"ERROR") and b"may only connect from a loopback address" in error
