"""The HTTP side of the WebSocket port: /healthz open, /stats only for the logins and Host
names [http] allows, and WebSocket upgrades only from allowed Origins."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator

import pytest
from raw_stomp import websocket_frames
from real_broker import BrokerProcess, start_broker, user_table
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from broker.client import connect_frame

WAIT_SECONDS = 5.0
ALLOWED_ORIGIN = "https://quiz.example"


@pytest.fixture(scope="module")
def http_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    toml = (
        user_table("guest", "guest")
        + user_table("monitor", "watch")
        + f"""
[http]
stats_users = ["monitor"]
allowed_origins = ["{ALLOWED_ORIGIN}"]
"""
    )
    with start_broker(tmp_path_factory.mktemp("http"), toml=toml, args=()) as broker:
        yield broker


def get(
    broker: BrokerProcess,
    path: str,
    *,
    login: str | None = None,
    passcode: str = "",
    host: str = "",
) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a GET on the broker's WebSocket port."""
    connection = http.client.HTTPConnection("127.0.0.1", broker.ws_port, timeout=WAIT_SECONDS)
    headers = {"Host": host} if host else {}
    if login is not None:
        credentials = base64.b64encode(f"{login}:{passcode}".encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def test_healthz_needs_no_login(http_broker: BrokerProcess) -> None:
    status, _, body = get(http_broker, "/healthz", host="anything.example")
    assert (status, body) == (200, '{"status": "ok"}\n')


def test_stats_without_login_asks_for_one(http_broker: BrokerProcess) -> None:
    status, headers, body = get(http_broker, "/stats")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert "stats_users" in body


@pytest.mark.parametrize(
    ("login", "passcode"),
    [("monitor", "wrong"), ("guest", "guest"), ("nobody", "watch")],
    ids=["wrong-passcode", "not-a-stats-user", "unknown-login"],
)
def test_stats_refuses_other_logins(http_broker: BrokerProcess, login: str, passcode: str) -> None:
    assert get(http_broker, "/stats", login=login, passcode=passcode)[0] == 401


def test_stats_answers_a_stats_user(http_broker: BrokerProcess) -> None:
    status, _, body = get(http_broker, "/stats", login="monitor", passcode="watch")
    assert status == 200 and '"connections"' in body


@pytest.mark.parametrize("host", ["localhost:1234", "127.0.0.1", "[::1]:80"])
def test_stats_answers_loopback_host_names(http_broker: BrokerProcess, host: str) -> None:
    assert get(http_broker, "/stats", login="monitor", passcode="watch", host=host)[0] == 200


def test_stats_refuses_another_host_name(http_broker: BrokerProcess) -> None:
    status, _, body = get(
        http_broker, "/stats", login="monitor", passcode="watch", host="rebound.example"
    )
    assert status == 403 and "allowed_hosts" in body


def test_stats_is_off_by_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    with start_broker(tmp_path_factory.mktemp("bare")) as broker:
        status, _, body = get(broker, "/stats", login="guest", passcode="guest")
    assert status == 403 and "stats_users" in body


def test_websocket_from_an_allowed_origin_or_none_is_taken(http_broker: BrokerProcess) -> None:
    for origin in (ALLOWED_ORIGIN, None):
        with connect(http_broker.ws_url, origin=origin) as ws:  # type: ignore[arg-type]
            ws.send(connect_frame("guest", "guest"))
            assert next(websocket_frames(ws)).command == "CONNECTED"


def test_websocket_from_another_origin_is_refused(http_broker: BrokerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(http_broker.ws_url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


def test_any_origin_is_taken_without_allowed_origins(broker_process: BrokerProcess) -> None:
    with connect(broker_process.ws_url, origin="https://anywhere.example") as ws:  # type: ignore[arg-type]
        assert ws.subprotocol is None
