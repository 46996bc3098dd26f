"""TLS on both listeners from one certificate and key."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import stomp
from certificates import self_signed
from inbox import Inbox
from raw_stomp import websocket_frames
from real_broker import BrokerProcess, start_broker
from websockets.sync.client import connect

from broker.client import connect_frame


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[BrokerProcess]:
    cert, key = certificate
    args = ("--user", "guest:guest", "--tls-cert", str(cert), "--tls-key", str(key))
    with start_broker(tmp_path_factory.mktemp("tls-broker"), args=args) as broker:
        yield broker


def test_stomp_py_over_tls(tls_broker: BrokerProcess, certificate: tuple[Path, Path]) -> None:
    conn = stomp.Connection([("127.0.0.1", tls_broker.tcp_port)])
    conn.set_ssl(for_hosts=[("127.0.0.1", tls_broker.tcp_port)], ca_certs=str(certificate[0]))
    inbox = Inbox()
    conn.set_listener("inbox", inbox)
    conn.connect("guest", "guest", wait=True)
    conn.subscribe("/topic/tls", id="1")
    conn.send("/topic/tls", "secret")
    assert inbox.next_message().body == "secret"
    conn.disconnect()


def test_websocket_over_tls(tls_broker: BrokerProcess, certificate: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    url = f"wss://127.0.0.1:{tls_broker.ws_port}/ws"
    with connect(url, ssl=context, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(connect_frame("guest", "guest"))
        assert next(websocket_frames(ws)).command == "CONNECTED"
