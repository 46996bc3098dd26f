"""A Python WebSocket client speaking STOMP to a real broker process, with each sub-protocol."""

from __future__ import annotations

import pytest
from raw_stomp import raw_websocket, websocket_frames, ws_message
from real_broker import BrokerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from broker.client import client_frame, connect_frame

WAIT_SECONDS = 5.0


@pytest.mark.parametrize(
    ("subprotocol", "version"), [("v10.stomp", "1.0"), ("v11.stomp", "1.1"), ("v12.stomp", "1.2")]
)
def test_each_subprotocol_connects_subscribes_and_receives(
    broker_process: BrokerProcess, subprotocol: str, version: str
) -> None:
    with connect(broker_process.ws_url, subprotocols=[subprotocol]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == subprotocol
        frames = websocket_frames(ws, version)
        ws.send(connect_frame("guest", "guest", version=version))
        assert next(frames).headers["version"] == version
        subscribe = {"id": "1", "destination": "/topic/ws.each", "receipt": "s"}
        ws.send(client_frame("SUBSCRIBE", subscribe, version=version))
        assert next(frames).command == "RECEIPT"
        ws.send(client_frame("SEND", {"destination": "/topic/ws.each"}, "hi", version=version))
        frame = next(frames)
        assert (frame.command, frame.body) == ("MESSAGE", b"hi")


def test_binary_body_arrives_as_a_binary_message(broker_process: BrokerProcess) -> None:
    with connect(broker_process.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(connect_frame("guest", "guest"))
        assert next(websocket_frames(ws)).command == "CONNECTED"
        ws.send("SUBSCRIBE\nid:1\ndestination:/topic/ws.bin\n\n\x00")
        ws.send(b"SEND\ndestination:/topic/ws.bin\ncontent-length:2\nreceipt:r\n\n\xff\xfe\x00")
        messages = []
        while not any(isinstance(m, bytes) and b"MESSAGE" in m for m in messages):
            messages.append(ws.recv(timeout=WAIT_SECONDS))
        # Frames written together travel in one WebSocket message, so look inside it.
    assert any(isinstance(m, bytes) and b"\n\n\xff\xfe\x00" in m for m in messages)


@pytest.mark.parametrize("size", [100, 1_000, 100_000], ids=["short", "medium", "long"])
def test_message_of_any_length_arrives_whole(broker_process: BrokerProcess, size: int) -> None:
    body = "x" * size
    with connect(broker_process.ws_url, subprotocols=["v12.stomp"], max_size=None) as ws:  # type: ignore[list-item]
        frames = websocket_frames(ws)
        ws.send(connect_frame("guest", "guest"))
        assert next(frames).command == "CONNECTED"
        ws.send("SUBSCRIBE\nid:1\ndestination:/topic/ws.len\nreceipt:s\n\n\x00")
        assert next(frames).command == "RECEIPT"
        ws.send(f"SEND\ndestination:/topic/ws.len\n\n{body}\x00")
        frame = next(frames)
        assert (frame.command, frame.body) == ("MESSAGE", body.encode())


def test_a_client_offering_no_subprotocol_speaks_stomp(broker_process: BrokerProcess) -> None:
    with connect(broker_process.ws_url) as ws:
        assert ws.subprotocol is None
        ws.send(connect_frame("guest", "guest"))
        assert next(websocket_frames(ws)).headers["version"] == "1.2"


def test_a_client_offering_every_version_gets_the_highest(broker_process: BrokerProcess) -> None:
    offered = ["v10.stomp", "v11.stomp", "v12.stomp"]
    with connect(broker_process.ws_url, subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "v12.stomp"


def test_a_client_offering_only_other_subprotocols_is_refused(
    broker_process: BrokerProcess,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(broker_process.ws_url, subprotocols=["mqtt"])  # type: ignore[list-item]
    assert refused.value.response.status_code == 400
    assert b"v12.stomp" in refused.value.response.body


def test_a_text_message_with_bad_utf_8_in_a_header_gets_an_error_naming_it(
    broker_process: BrokerProcess,
) -> None:
    sock = raw_websocket(broker_process.ws_port, receive_buffer=65536)
    sock.sendall(ws_message(b"SEND\ndestination:/topic/ws.utf8\nnote:\xff\n\n\x00"))
    received = b""
    while b"\x88" not in received:  # until the close frame (ERROR's body is ASCII)
        received += sock.recv(65536)
    sock.close()
    assert b"ERROR\nmessage:SEND frame headers are not valid UTF-8\n" in received
    with connect(broker_process.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(connect_frame("guest", "guest"))
        assert next(websocket_frames(ws)).command == "CONNECTED"
