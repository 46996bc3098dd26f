"""Webhooks over real sockets: a broker process POSTs occupied and vacated events to a small
HTTP receiver run by the test, signed, retried after failures, and a receiver that never
answers costs the other clients nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from certificates import self_signed
from raw_stomp import WAIT_SECONDS, RawStomp
from real_broker import REPO, STATS_TOML, BrokerProcess, start_broker

SECRET = "whsec-integration"


@dataclass
class Post:
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)["events"]


class Receiver:
    """An HTTP server in a thread that records each POST and answers the statuses it is
    given, in order (then 200). Requests past `hold_from` (counted from 0) wait for
    `release` before they are answered, so a test can look at the broker while one is open."""

    def __init__(
        self,
        statuses: tuple[int, ...] = (),
        hold_from: int | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.posts: queue.Queue[Post] = queue.Queue()
        self.release = threading.Event()
        statuses_left = list(statuses)
        counter = iter(range(1_000_000))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                index = next(counter)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.put(Post(dict(self.headers.items()), body))
                if hold_from is not None and index >= hold_from:
                    receiver.release.wait(WAIT_SECONDS)
                self.send_response(statuses_left.pop(0) if statuses_left else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/broker"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def next_post(self) -> Post:
        return self.posts.get(timeout=WAIT_SECONDS)

    def events(self, count: int) -> list[tuple[str, str]]:
        """(name, topic) of the next `count` events, however the POSTs batch them."""
        got: list[tuple[str, str]] = []
        while len(got) < count:
            got += [(event["name"], event["topic"]) for event in self.next_post().events]
        return got

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def webhook_toml(url: str, **settings: object) -> str:
    extra = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return (
        f'{STATS_TOML}\n[[webhooks]]\npattern = "/topic/games.*"\nurl = "{url}"\n'
        f'secret = "{SECRET}"\n{extra}'
    )


def client(broker: BrokerProcess) -> RawStomp:
    stomp = RawStomp(broker.tcp_port)
    assert stomp.connect().command == "CONNECTED"
    return stomp


def subscribe(stomp: RawStomp, destination: str, sid: str) -> None:
    """SUBSCRIBE, and wait for its RECEIPT: the broker has counted the subscription."""
    stomp.send(f"SUBSCRIBE\nid:{sid}\ndestination:{destination}\nreceipt:r-{sid}\n\n\x00")
    assert stomp.next_frame().command == "RECEIPT"


def unsubscribe(stomp: RawStomp, sid: str) -> None:
    stomp.send(f"UNSUBSCRIBE\nid:{sid}\nreceipt:u-{sid}\n\n\x00")
    assert stomp.next_frame().command == "RECEIPT"


def test_occupied_and_vacated_reach_the_receiver_in_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    with start_broker(tmp_path, toml=webhook_toml(receiver.url)) as broker:
        first, second = client(broker), client(broker)
        subscribe(first, "/topic/games.1", "a")
        subscribe(second, "/topic/games.1", "b")
        subscribe(first, "/topic/chat.1", "c")  # not a webhook topic
        unsubscribe(first, "a")
        second.sock.close()  # the last subscriber leaves with its connection
        events = receiver.events(2)
        subscribe(first, "/topic/games.1", "d")
        events += receiver.events(1)
        assert events == [
            ("occupied", "/topic/games.1"),
            ("vacated", "/topic/games.1"),
            ("occupied", "/topic/games.1"),
        ]


def test_each_post_is_signed_with_the_secret_over_its_timestamp_and_body(
    tmp_path: Path, receiver: Receiver
) -> None:
    with start_broker(tmp_path, toml=webhook_toml(receiver.url)) as broker:
        subscribe(client(broker), "/topic/games.2", "a")
        post = receiver.next_post()
    fields = dict(part.split("=", 1) for part in post.headers["Broker-Signature"].split(","))
    signed = f"{fields['t']}.".encode() + post.body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(time.time() - int(fields["t"])) < 300  # the receiver's replay window
    assert post.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("scheme", ["https", "HTTPS"])
def test_an_https_receiver_is_reached_with_its_certificate_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """Its certificate is checked against the trusted CAs (SSL_CERT_FILE here, as OpenSSL
    reads it): a self-signed one the broker was not told to trust would fail. URL schemes are
    case-insensitive."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver = Receiver(tls=context)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        url = receiver.url.replace("https", scheme, 1)
        with start_broker(tmp_path / "broker", toml=webhook_toml(url)) as broker:
            subscribe(client(broker), "/topic/games.7", "a")
            assert [event["name"] for event in receiver.next_post().events] == ["occupied"]
    finally:
        receiver.close()


def test_a_receiver_answering_500_gets_the_same_events_again_until_it_takes_them(
    tmp_path: Path,
) -> None:
    receiver = Receiver(statuses=(500, 503), hold_from=3)
    try:
        toml = webhook_toml(receiver.url, first_retry_seconds=0.05)
        with start_broker(tmp_path, toml=toml) as broker:
            subscriber = client(broker)
            subscribe(subscriber, "/topic/games.3", "a")
            posts = [receiver.next_post() for _ in range(3)]
            # The next event's POST leaves only once the broker is done with the first batch.
            subscribe(subscriber, "/topic/games.4", "b")
            assert receiver.next_post().events[0]["topic"] == "/topic/games.4"
            stats = broker.stats()["webhooks"]
            receiver.release.set()
    finally:
        receiver.close()
    assert [[event["id"] for event in post.events] for post in posts] == [
        [posts[0].events[0]["id"]]
    ] * 3
    assert stats == {"queued": 1, "delivered": 1, "failed_attempts": 2, "dropped": 0}


def test_a_batch_failing_max_attempts_times_is_dropped_logged_and_counted(
    tmp_path: Path,
) -> None:
    receiver = Receiver(statuses=(500, 500), hold_from=2)
    try:
        toml = webhook_toml(receiver.url, first_retry_seconds=0.05, max_attempts=2)
        with start_broker(tmp_path, toml=toml) as broker:
            subscriber = client(broker)
            subscribe(subscriber, "/topic/games.8", "a")
            posts = [receiver.next_post() for _ in range(2)]
            subscribe(subscriber, "/topic/games.9", "b")  # its POST: the first batch is over
            assert receiver.next_post().events[0]["topic"] == "/topic/games.9"
            stats = broker.stats()["webhooks"]
            metrics = _metrics(broker)
            receiver.release.set()
            log = broker.log()
    finally:
        receiver.close()
    assert [post.events[0]["topic"] for post in posts] == ["/topic/games.8"] * 2
    assert stats == {"queued": 1, "delivered": 0, "failed_attempts": 2, "dropped": 1}
    assert "stomp_webhook_events_dropped_total 1.0" in metrics
    assert f"webhook {receiver.url}: dropped 1 events after 2 attempts, the last: HTTP 500" in log


def test_a_receiver_that_never_answers_costs_other_clients_nothing(tmp_path: Path) -> None:
    """It accepts connections (the kernel does, into the backlog) and never answers: its events
    wait in their bounded queue, and the ones past it are dropped and counted."""
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(16)
        url = f"http://127.0.0.1:{dead.getsockname()[1]}/hook"
        toml = webhook_toml(url, timeout_seconds=60, max_queued_events=2)
        with start_broker(tmp_path, toml=toml) as broker:
            busy = client(broker)
            for n in range(5):
                subscribe(busy, f"/topic/games.{n}", str(n))
            reader, publisher = client(broker), client(broker)
            subscribe(reader, "/topic/chat.room", "r")
            for n in range(100):
                publisher.send(f"SEND\ndestination:/topic/chat.room\n\n{n}\x00")
            publisher.send("SEND\ndestination:/topic/games.0\n\nto-a-webhook-topic\x00")
            assert [reader.next_frame().body for _ in range(100)] == [
                str(n).encode() for n in range(100)
            ]
            assert busy.next_frame().body == b"to-a-webhook-topic"
            stats = broker.stats()["webhooks"]
            metrics = _metrics(broker)
    assert stats == {"queued": 2, "delivered": 0, "failed_attempts": 0, "dropped": 3}
    assert "stomp_webhook_events_dropped_total 3.0" in metrics
    assert "stomp_webhook_events_queued 2.0" in metrics


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"HTTP/1.1 200 " + b"x" * 100_000 + b"\r\n", id="past-64-KiB"),
        pytest.param(b"HTTP/1.1 " + b"2" * 5_000 + b" OK\r\n", id="5000-digit-status"),
    ],
)
def test_a_receiver_answering_garbage_is_retried_and_then_served(
    tmp_path: Path, garbage: bytes
) -> None:
    """A status line the broker cannot read (longer than 64 KiB, or a status of more digits
    than int() takes) is one failed POST, retried: the receiver's deliveries go on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        toml = webhook_toml(url, first_retry_seconds=0.05)
        with start_broker(tmp_path, toml=toml) as broker:
            subscriber = client(broker)
            subscribe(subscriber, "/topic/games.5", "a")
            listener.settimeout(WAIT_SECONDS)
            bodies = []
            for answer in (garbage, b"HTTP/1.1 204 \r\n"):
                connection, _ = listener.accept()
                with connection:
                    connection.settimeout(WAIT_SECONDS)
                    bodies.append(_request_body(connection))
                    connection.sendall(answer + b"\r\n")
            subscribe(subscriber, "/topic/games.6", "b")
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(WAIT_SECONDS)
                bodies.append(_request_body(connection))
    topics = [[event["topic"] for event in json.loads(body)["events"]] for body in bodies]
    assert topics == [["/topic/games.5"], ["/topic/games.5"], ["/topic/games.6"]]


def _request_body(connection: socket.socket) -> bytes:
    """Read one HTTP request with a Content-Length: its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += connection.recv(65536)
    return body


def _metrics(broker: BrokerProcess) -> str:
    import base64
    import urllib.request

    request = urllib.request.Request(
        f"{broker.http_url}/metrics",
        headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()},
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        return response.read().decode()


def test_a_webhook_with_a_bad_url_is_refused_at_startup(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text(webhook_toml("ftp://example.org/hook"))
    result = subprocess.run(
        [sys.executable, "-m", "broker", "--config", str(config), "--tcp", "off", "--ws", "off"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "stomp-broker: error: webhooks[0].url: expected an http:// or https:// URL, "
        "got 'ftp://example.org/hook'"
    )
