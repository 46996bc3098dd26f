"""Operations: a log line per connection with its reason, and a clean stop on SIGTERM."""

from __future__ import annotations

import socket
from pathlib import Path

from real_broker import start_broker

CONNECT = b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_sigterm_tells_connected_clients_and_exits_0(tmp_path: Path) -> None:
    with start_broker(tmp_path) as broker:
        with socket.create_connection(("127.0.0.1", broker.tcp_port), timeout=5) as sock:
            sock.sendall(CONNECT)
            assert sock.recv(65536).startswith(b"CONNECTED")
            assert broker.stop() == 0
            assert b"ERROR\nmessage:broker shutting down" in read_until_closed(sock)
        assert "shutting down" in broker.log() and "stopped" in broker.log()


def test_one_log_line_per_connection_opened_and_closed_with_the_reason(tmp_path: Path) -> None:
    with start_broker(tmp_path) as broker:
        with socket.create_connection(("127.0.0.1", broker.tcp_port), timeout=5) as sock:
            host, port = sock.getsockname()[:2]
            peer = f"{host}:{port}"
            sock.sendall(CONNECT + b"FROB\n\n\x00")
            read_until_closed(sock)
        broker.stop()
    lines = broker.log().splitlines()
    opened = [line for line in lines if f"opened tcp {peer}" in line]
    closed = [line for line in lines if f"closed tcp {peer}" in line]
    assert len(opened) == 1 and len(closed) == 1
    assert "login=guest" in closed[0] and "unknown command 'FROB'" in closed[0]
