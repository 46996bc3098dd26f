"""HTTP subscribers (long-polling and Server-Sent Events) against a real broker process: the
same offsets, resume and "too old" as a STOMP SUBSCRIBE, waiting for the next message, and
the same token refusals, each with its reason, while other clients keep being served."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from real_broker import STATS_TOML, BrokerProcess, start_broker, user_table
from test_history_integration import client, publish, subscribe

from broker.tokens import issue_token

SECRET = "http-subscribers-test-secret-long-enough"
MAX_MESSAGES = 3
FEED = "/topic/feed.*"
TOML = (
    user_table("guest", "guest")
    + STATS_TOML
    + f"""
[tokens]
secret = "{SECRET}"

[[history]]
pattern = "{FEED}"
max_messages = {MAX_MESSAGES}
"""
)
WAIT_SECONDS = 10.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    with start_broker(tmp_path_factory.mktemp("http-subscribers"), toml=TOML, args=()) as broker:
        yield broker


def token(read: tuple[str, ...] = (FEED, "/topic/plain.*"), ttl_seconds: int = 60) -> str:
    return issue_token(
        secret=SECRET, subject="player:7", read=read, write=(), ttl_seconds=ttl_seconds
    )


def get(
    broker: BrokerProcess, path: str, headers: dict[str, str] | None = None, **query: Any
) -> tuple[int, str, str]:
    """GET `path?query`: the status, Content-Type and body (of an error too)."""
    url = f"{broker.http_url}{path}?{urlencode(query)}"
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def poll(broker: BrokerProcess, destination: str, **query: Any) -> dict[str, Any]:
    status, content_type, body = get(
        broker,
        "/poll",
        {"Authorization": f"Bearer {token()}"},
        destination=destination,
        **query,
    )
    assert (status, content_type) == (200, "application/json"), body
    return json.loads(body)


def sse_events(body: str) -> list[dict[str, str]]:
    """The events of a text/event-stream body, each as its fields (data lines joined)."""
    events = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        if fields and set(fields) != {"retry"}:
            events.append(fields)
    return events


def bodies(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(message["offset"], message["body"]) for message in answer["messages"]]


def test_a_poll_without_offset_says_where_the_topic_stands_and_then_resumes_there(
    broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.start"
    start = poll(broker, topic)
    assert (start["messages"], "resume" in start) == ([], False)
    publish(client(broker), topic, "one", "two")
    answer = poll(broker, topic, offset=start["next_offset"])
    assert bodies(answer) == [(start["next_offset"], "one"), (start["next_offset"] + 1, "two")]
    assert (answer["resume"], answer["next_offset"]) == ("resumed", start["next_offset"] + 2)


def test_a_poll_gets_the_offsets_and_headers_a_stomp_subscriber_gets(
    broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.same"
    start = poll(broker, topic)
    stomp = client(broker)
    subscribe(stomp, topic)
    publish(client(broker), topic, '{"version": 1}')
    frame = stomp.next_frame()
    (message,) = poll(broker, topic, offset=start["next_offset"])["messages"]
    assert message["offset"] == int(frame.headers["x-stream-offset"])
    assert message["headers"]["message-id"] == frame.headers["message-id"]
    assert message["body"] == '{"version": 1}'


def test_a_poll_past_the_history_is_told_too_old_and_where_to_go_on(
    broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.overflow"
    start = poll(broker, topic)
    publish(client(broker), topic, *(f"m{n}" for n in range(MAX_MESSAGES + 1)))
    answer = poll(broker, topic, offset=start["next_offset"])
    assert (answer["resume"], answer["messages"]) == ("too-old", [])
    assert answer["next_offset"] == start["next_offset"] + MAX_MESSAGES + 1


def test_a_poll_with_nothing_new_waits_for_the_next_message(broker: BrokerProcess) -> None:
    topic = "/topic/feed.wait"
    start = poll(broker, topic)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(poll, broker, topic, offset=start["next_offset"])
        deadline = time.monotonic() + WAIT_SECONDS
        while broker.stats()["connections"]["poll"] == 0 and time.monotonic() < deadline:
            pass  # until the broker holds the poll: a message before would be no wait
        publish(client(broker), topic, "news")
        answer = waiting.result(WAIT_SECONDS)
    assert bodies(answer) == [(start["next_offset"], "news")]


def test_a_poll_with_nothing_new_ends_empty_after_its_wait(broker: BrokerProcess) -> None:
    topic = "/topic/feed.quiet"
    start = poll(broker, topic)
    answer = poll(broker, topic, offset=start["next_offset"], wait=0.1)
    assert (answer["messages"], answer["next_offset"]) == ([], start["next_offset"])
    assert answer["resume"] == "resumed"


def test_an_event_source_gets_ready_then_the_messages_with_their_offsets_as_ids(
    broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.sse"
    status, content_type, body = get(broker, "/sse", access_token=token(), destination=topic)
    assert (status, content_type) == (200, "text/event-stream; charset=utf-8")
    (ready,) = sse_events(body)
    assert (ready["event"], json.loads(ready["data"])["resume"]) == ("ready", None)
    assert body.startswith("retry: ")
    publish(client(broker), topic, "line one\nline two", "three")
    _, _, body = get(
        broker, "/sse", {"Last-Event-ID": ready["id"]}, access_token=token(), destination=topic
    )
    first = int(ready["id"]) + 1
    assert sse_events(body) == [
        {"id": str(first), "data": "line one\nline two"},
        {"id": str(first + 1), "data": "three"},
    ]


def test_an_event_source_that_opens_at_an_offset_is_told_it_resumed(
    broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.sse-resume"
    start = poll(broker, topic)
    publish(client(broker), topic, "missed")
    _, _, body = get(
        broker, "/sse", access_token=token(), destination=topic, offset=start["next_offset"]
    )
    missed, ready = sse_events(body)
    assert missed == {"id": str(start["next_offset"]), "data": "missed"}
    assert (ready["id"], json.loads(ready["data"])["resume"]) == (missed["id"], "resumed")


def test_an_event_source_back_after_the_history_is_told_too_old(broker: BrokerProcess) -> None:
    topic = "/topic/feed.sse-old"
    start = poll(broker, topic)
    publish(client(broker), topic, *(f"m{n}" for n in range(MAX_MESSAGES + 1)))
    last_seen = str(start["next_offset"] - 1)
    _, _, body = get(
        broker, "/sse", {"Last-Event-ID": last_seen}, access_token=token(), destination=topic
    )
    (ready,) = sse_events(body)
    assert (ready["event"], json.loads(ready["data"])["resume"]) == ("ready", "too-old")
    assert int(ready["id"]) == start["next_offset"] + MAX_MESSAGES


# Each request's headers are made when its test runs: tokens made at collection would have
# expired by the time a long run reaches them.
REFUSALS = [
    pytest.param(
        lambda: {},
        {"destination": "/topic/feed.x"},
        (401, "login required: send login and passcode headers (anonymous access is off)"),
        id="no-token",
    ),
    pytest.param(
        lambda: {"Authorization": "Bearer " + token()[:-4] + "AAAA"},
        {"destination": "/topic/feed.x"},
        (401, "token signature is invalid: not signed with this broker's secret"),
        id="bad-signature",
    ),
    pytest.param(
        lambda: {"Authorization": "Bearer guest"},
        {"destination": "/topic/feed.x"},
        (401, "HTTP subscribers authenticate with a token (Authorization: Bearer <token>, or"),
        id="passcode",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token(read=('/topic/feed.mine',))}"},
        {"destination": "/topic/feed.other"},
        (403, "access refused: 'player:7' may not subscribe to /topic/feed.other"),
        id="out-of-scope",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}"},
        {"destination": "/topic/plain.x"},
        (404, "/topic/plain.x keeps no history: HTTP subscribers are served from a topic's"),
        id="no-history",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}"},
        {"destination": "/topic/feed.*"},
        (400, "HTTP subscribers follow one topic without wildcards, not /topic/feed.*"),
        id="wildcard",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}"},
        {"destination": "/topic/feed.x", "offset": "²"},
        (400, "offset must be a whole number, got '²'"),
        id="bad-offset",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}", "Last-Event-ID": "-1"},
        {"destination": "/topic/feed.x"},
        (400, "Last-Event-ID must be a whole number, got '-1'"),
        id="bad-last-event-id",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}"},
        {"destination": "/topic/feed.x", "offset": "1", "wait": "nan"},
        (400, "wait must be a number of seconds (at most 20 are waited), got 'nan'"),
        id="bad-wait",
    ),
    pytest.param(
        lambda: {"Authorization": f"Bearer {token()}"},
        {},
        (400, "destination=/topic/<name> is required"),
        id="no-destination",
    ),
]


@pytest.mark.parametrize("path", ["/poll", "/sse"])
@pytest.mark.parametrize(("headers", "query", "refusal"), REFUSALS)
def test_a_bad_request_is_refused_with_its_reason_and_others_keep_being_served(
    broker: BrokerProcess,
    path: str,
    headers: Callable[[], dict[str, str]],
    query: dict[str, str],
    refusal: tuple[int, str],
) -> None:
    topic = "/topic/feed.bystander"
    start = poll(broker, topic)
    stomp = client(broker)
    subscribe(stomp, topic)
    status, content_type, body = get(broker, path, headers(), **query)
    assert (status, content_type, body[: len(refusal[1])]) == (
        refusal[0],
        "text/plain; charset=utf-8",
        refusal[1],
    )
    publish(client(broker), topic, "still")
    assert stomp.next_frame().body == b"still"
    assert bodies(poll(broker, topic, offset=start["next_offset"]))[-1][1] == "still"


def test_an_expired_token_is_refused_as_a_connect_would_be(broker: BrokerProcess) -> None:
    expired = token(ttl_seconds=-1)
    status, _, body = get(
        broker, "/poll", {"Authorization": f"Bearer {expired}"}, destination="/topic/feed.x"
    )
    assert (status, body) == (401, "token expired: ask the app for a new one\n")


def test_a_token_whose_scope_is_a_number_is_refused_as_a_connect_would_be(
    broker: BrokerProcess,
) -> None:
    claims = {"sub": "player:7", "aud": "broker", "exp": int(time.time()) + 60, "scope": 5}
    numeric = jwt.encode(claims, SECRET, algorithm="HS256")
    status, _, body = get(
        broker, "/poll", {"Authorization": f"Bearer {numeric}"}, destination="/topic/feed.x"
    )
    assert (status, "scope" in body) == (401, True)


def raw_http(broker: BrokerProcess, head: str) -> str:
    """What the broker answers to a request written byte for byte (urllib cannot repeat a
    header): its status line and body."""
    with socket.create_connection(("127.0.0.1", broker.ws_port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(head.encode() + b"\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    return head.partition("\r\n")[0] + "\n" + body


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (
            "GET /poll?destination=/topic/feed.x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer a\r\nAuthorization: Bearer b\r\n",
            "Authorization",
        ),
        (
            "GET /sse?destination=/topic/feed.x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Last-Event-ID: 1\r\nLast-Event-ID: 2\r\n",
            "Last-Event-ID",
        ),
        ("GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: localhost\r\n", "Host"),
        (
            "GET /poll?destination=/topic/feed.x&"
            + "&".join(f"f{n}=1" for n in range(10))
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            "query",
        ),
    ],
    ids=["authorization", "last-event-id", "host", "eleven-query-fields"],
)
def test_a_repeated_header_or_too_many_query_fields_is_a_bad_request_saying_so(
    broker: BrokerProcess, head: str, named: str
) -> None:
    answer = raw_http(broker, head + "Connection: close\r\n")
    assert answer.startswith("HTTP/1.1 400 "), answer
    assert named in answer.partition("\n")[2]


def test_refused_tokens_count_as_authentication_failures(broker: BrokerProcess) -> None:
    before = broker.stats()["auth_failures"]
    get(broker, "/poll", {"Authorization": "Bearer guest"}, destination="/topic/feed.x")
    assert broker.stats()["auth_failures"] == before + 1


def test_the_metrics_name_the_http_transports(broker: BrokerProcess) -> None:
    request = urllib.request.Request(
        f"{broker.http_url}/metrics", headers={"Authorization": "Basic Z3Vlc3Q6Z3Vlc3Q="}
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        text = response.read().decode()
    assert 'stomp_connections{transport="sse"}' in text
    assert 'stomp_connections{transport="poll"}' in text


@pytest.fixture(scope="module")
def small_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """Two connections at most, and one origin allowed for browser pages."""
    toml = (
        TOML.replace(
            STATS_TOML,
            STATS_TOML + 'allowed_origins = ["https://quiz.example.org"]\n',
        )
        + "\n[limits]\nmax_connections = 2\n"
    )
    with start_broker(tmp_path_factory.mktemp("small"), toml=toml, args=()) as broker:
        yield broker


def test_past_max_connections_held_requests_a_new_one_is_refused_and_they_are_served(
    small_broker: BrokerProcess,
) -> None:
    topic = "/topic/feed.full"
    start = poll(small_broker, topic)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(poll, small_broker, topic, offset=start["next_offset"]) for _ in "ab"]
        deadline = time.monotonic() + WAIT_SECONDS
        while small_broker.stats()["connections"]["poll"] < 2 and time.monotonic() < deadline:
            pass  # until the broker holds both
        refused = get(
            small_broker,
            "/poll",
            {"Authorization": f"Bearer {token()}"},
            destination=topic,
            offset=start["next_offset"],
        )
        publish(client(small_broker), topic, "for both")
        answers = [future.result(WAIT_SECONDS) for future in held]
    assert refused[0::2] == (
        503,
        "too many connections (limits.max_connections=2); try again later\n",
    )
    assert [bodies(answer) for answer in answers] == [[(start["next_offset"], "for both")]] * 2


def test_a_page_from_an_origin_not_allowed_is_refused(small_broker: BrokerProcess) -> None:
    status, _, body = get(
        small_broker,
        "/sse",
        {"Origin": "https://elsewhere.example"},
        access_token=token(),
        destination="/topic/feed.x",
    )
    assert (status, body) == (
        403,
        "Origin 'https://elsewhere.example' is not in [http] allowed_origins\n",
    )


def test_a_page_from_an_allowed_origin_may_read_the_answer(small_broker: BrokerProcess) -> None:
    request = urllib.request.Request(
        f"{small_broker.http_url}/sse?"
        + urlencode({"access_token": token(), "destination": "/topic/feed.x"}),
        headers={"Origin": "https://quiz.example.org"},
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://quiz.example.org"


def preflight(broker: BrokerProcess, origin: str) -> tuple[int, dict[str, str]]:
    """A browser's CORS preflight of a GET /poll with `Authorization: Bearer`: no token."""
    request = urllib.request.Request(
        f"{broker.http_url}/poll?destination=/topic/feed.x",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            return response.status, dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items())


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(
    small_broker: BrokerProcess,
) -> None:
    status, headers = preflight(small_broker, "https://quiz.example.org")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://quiz.example.org"
    assert "authorization" in headers["Access-Control-Allow-Headers"].lower()
    assert "GET" in headers["Access-Control-Allow-Methods"]


def test_a_preflight_from_an_origin_not_allowed_is_refused(small_broker: BrokerProcess) -> None:
    status, headers = preflight(small_broker, "https://elsewhere.example")
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
