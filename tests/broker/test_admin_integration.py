"""DELETE /api/connections/username/<login> on the WebSocket port, as RabbitMQ's management
API has it: an app revokes a user (the quiz site kicks a player) and every connection of that
login gets an ERROR frame saying why and is closed, while everyone else is served on."""

from __future__ import annotations

import base64
import contextlib
import http.client
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from raw_stomp import RawStomp
from real_broker import BrokerProcess, start_broker
from stomp_bytes import SECRET, Client, make_broker
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from broker.admin import close_connections_of
from broker.auth import hash_passcode
from broker.client import read_frames
from broker.frames import Frame
from broker.tokens import issue_token

WAIT_SECONDS = 10.0
TOPIC = "/topic/games.1.status"
KICKED = "closed by an administrator: kicked from the game by its host"


@pytest.fixture(scope="module")
def admin_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    passcode = hash_passcode("pw")
    users = "\n".join(
        f'[[users]]\nlogin = "{login}"\npasscode_hash = "{passcode}"\n'
        for login in ("ann", "bob", "admin", "monitor")
    )
    toml = (
        f'{users}\n[tokens]\nsecret = "{SECRET}"\n\n'
        '[http]\nadmin_users = ["admin"]\nstats_users = ["monitor"]\n\n'
        '[[history]]\npattern = "/topic/games.#"\n'  # for HTTP subscribers
    )
    with start_broker(tmp_path_factory.mktemp("admin"), toml=toml, args=()) as broker:
        yield broker


def delete(
    broker: BrokerProcess,
    login: str,
    *,
    caller: tuple[str, str] | None = ("admin", "pw"),
    method: str = "DELETE",
) -> tuple[int, str]:
    """Status and body of a call to close `login`'s connections, as `caller`."""
    connection = http.client.HTTPConnection("127.0.0.1", broker.ws_port, timeout=WAIT_SECONDS)
    headers = {"X-Reason": "kicked from the game by its host"}
    if caller is not None:
        credentials = base64.b64encode(":".join(caller).encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
    try:
        connection.request(method, f"/api/connections/username/{quote(login)}", headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def tcp_subscriber(broker: BrokerProcess, login: str, passcode: str = "pw") -> RawStomp:
    client = RawStomp(broker.tcp_port)
    client.send(f"CONNECT\naccept-version:1.2\nhost:/\nlogin:{login}\npasscode:{passcode}\n\n\x00")
    assert client.next_frame().command == "CONNECTED"
    client.send(f"SUBSCRIBE\nid:1\ndestination:{TOPIC}\nreceipt:r\n\n\x00")
    assert client.next_frame().command == "RECEIPT"
    return client


@contextlib.contextmanager
def ws_subscriber(broker: BrokerProcess, login: str) -> Iterator[ClientConnection]:
    with ws_connect(broker.ws_url, subprotocols=["v12.stomp"]) as ws:  # type: ignore[list-item]
        ws.send(f"CONNECT\naccept-version:1.2\nhost:/\nlogin:{login}\npasscode:pw\n\n\x00")
        assert ws_frame(ws).command == "CONNECTED"
        ws.send(f"SUBSCRIBE\nid:1\ndestination:{TOPIC}\nreceipt:r\n\n\x00")
        assert ws_frame(ws).command == "RECEIPT"
        yield ws


def ws_frame(ws: ClientConnection) -> Frame:
    message = ws.recv(timeout=WAIT_SECONDS)
    (frame,) = read_frames(message.encode() if isinstance(message, str) else message)
    return frame


def publish(broker: BrokerProcess, body: str) -> None:
    """SEND as bob, waiting for the broker's receipt."""
    bob = tcp_subscriber(broker, "bob")
    bob.send(f"SEND\ndestination:{TOPIC}\nreceipt:sent\n\n{body}\x00")
    while bob.next_frame().command != "RECEIPT":
        pass
    bob.close()


def test_delete_sends_every_connection_of_the_login_an_error_and_closes_it(
    admin_broker: BrokerProcess,
) -> None:
    ann_tcp = tcp_subscriber(admin_broker, "ann")
    bob = tcp_subscriber(admin_broker, "bob")
    with ws_subscriber(admin_broker, "ann") as ann_ws:
        assert delete(admin_broker, "ann") == (204, "")
        tcp_error, ws_error = ann_tcp.next_frame(), ws_frame(ann_ws)
        with pytest.raises(ConnectionError):
            ann_tcp.next_frame()
        with pytest.raises(ConnectionClosedOK):
            ann_ws.recv(timeout=WAIT_SECONDS)
    assert (tcp_error.command, tcp_error.headers["message"]) == ("ERROR", KICKED)
    assert (ws_error.command, ws_error.headers["message"]) == ("ERROR", KICKED)
    publish(admin_broker, "still here")
    assert bob.next_frame().body == b"still here"


def test_a_token_connection_is_closed_by_its_subject_whatever_login_it_gave(
    admin_broker: BrokerProcess,
) -> None:
    token = issue_token(secret=SECRET, subject="player:7", read=(TOPIC,), write=(), ttl_seconds=60)
    player = tcp_subscriber(admin_broker, "made-up", passcode=token)
    assert delete(admin_broker, "player:7") == (204, "")
    assert player.next_frame().headers["message"] == KICKED


def poll(broker: BrokerProcess, token: str) -> tuple[int, str]:
    """An HTTP subscriber's request for where TOPIC stands, with `token`."""
    connection = http.client.HTTPConnection("127.0.0.1", broker.ws_port, timeout=WAIT_SECONDS)
    try:
        connection.request(
            "GET", f"/poll?destination={quote(TOPIC)}", headers={"Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_after_a_delete_the_users_tokens_get_in_neither_over_stomp_nor_over_http(
    admin_broker: BrokerProcess,
) -> None:
    """A client holding the token cannot come back with it: not by reconnecting, nor as an
    HTTP subscriber (which holds no connection to close). Another user's token still works."""
    token = issue_token(secret=SECRET, subject="player:8", read=(TOPIC,), write=(), ttl_seconds=60)
    other = issue_token(secret=SECRET, subject="player:9", read=(TOPIC,), write=(), ttl_seconds=60)
    assert poll(admin_broker, token)[0] == 200
    assert delete(admin_broker, "player:8") == (204, "")
    revoked = "token revoked: an administrator cut 'player:8' off after this token was issued"
    status, body = poll(admin_broker, token)
    assert (status, body[: len(revoked)]) == (401, revoked)
    back = RawStomp(admin_broker.tcp_port)
    back.send(f"CONNECT\naccept-version:1.2\nhost:/\nlogin:x\npasscode:{token}\n\n\x00")
    refusal = back.next_frame()
    assert (refusal.command, refusal.headers["message"][: len(revoked)]) == ("ERROR", revoked)
    assert poll(admin_broker, other)[0] == 200


@pytest.mark.parametrize(
    ("caller", "status"),
    [(None, 401), (("admin", "wrong"), 401), (("monitor", "pw"), 401), (("ann", "pw"), 401)],
    ids=["no-login", "wrong-passcode", "stats-user", "the-user-itself"],
)
def test_an_unauthorised_caller_closes_nothing(
    admin_broker: BrokerProcess, caller: tuple[str, str] | None, status: int
) -> None:
    ann = tcp_subscriber(admin_broker, "ann")
    code, body = delete(admin_broker, "ann", caller=caller)
    assert (code, "admin_users" in body) == (status, True)
    publish(admin_broker, "after the call")
    assert ann.next_frame().body == b"after the call"


def test_only_delete_is_taken(admin_broker: BrokerProcess) -> None:
    ann = tcp_subscriber(admin_broker, "ann")
    assert delete(admin_broker, "ann", method="GET")[0] == 405
    publish(admin_broker, "after a GET")
    assert ann.next_frame().body == b"after a GET"


def test_the_admin_api_is_off_without_admin_users(broker_process: BrokerProcess) -> None:
    status, body = delete(broker_process, "guest", caller=("guest", "guest"))
    assert status == 403 and "[http] admin_users" in body


def test_closing_a_login_leaves_other_logins_sessions_alone() -> None:
    broker = make_broker()
    guest, reader = Client(broker), Client(broker)
    guest.connect()
    reader.connect(login="reader")
    assert close_connections_of(broker, "guest", "revoked") == 1
    assert guest.frame().headers["message"] == "revoked" and guest.session.closing
    assert not reader.session.closing and reader.raw() == b""
