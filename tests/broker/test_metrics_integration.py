"""GET /metrics: what the broker did, in Prometheus' format, for the logins /stats allows."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from raw_stomp import RawStomp
from real_broker import STATS_TOML, BrokerProcess, start_broker

from broker.client import client_frame, connect_frame

WAIT_SECONDS = 10.0


def scrape(broker: BrokerProcess, login: str = "guest", passcode: str = "guest") -> dict:
    """Every sample of /metrics, by name and labels: {("stomp_connections", (("transport",
    "tcp"),)): 1.0, ...}."""
    credentials = base64.b64encode(f"{login}:{passcode}".encode()).decode()
    request = urllib.request.Request(
        f"{broker.http_url}/metrics", headers={"Authorization": f"Basic {credentials}"}
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    with start_broker(tmp_path, toml=STATS_TOML) as running:
        yield running


def test_metrics_count_what_went_through(broker: BrokerProcess) -> None:
    subscriber, publisher = RawStomp(broker.tcp_port), RawStomp(broker.tcp_port)
    for client in (subscriber, publisher):
        assert client.connect().command == "CONNECTED"
    subscriber.send(
        client_frame("SUBSCRIBE", {"id": "1", "destination": "/topic/news", "receipt": "in"})
    )
    assert subscriber.next_frame().command == "RECEIPT"
    for n in range(3):
        publisher.send(client_frame("SEND", {"destination": "/queue/jobs"}, f"job {n}"))
    publisher.send(client_frame("SEND", {"destination": "/topic/news", "receipt": "sent"}, "hi"))
    assert publisher.next_frame().command == "RECEIPT"
    assert subscriber.next_frame().command == "MESSAGE"
    refused = RawStomp(broker.tcp_port)
    refused.send(connect_frame("guest", "wrong"))
    assert refused.next_frame().command == "ERROR"

    metrics = scrape(broker)
    assert metrics[("stomp_messages_received_total", ())] == 4
    assert metrics[("stomp_messages_delivered_total", ())] == 1
    assert metrics[("stomp_subscriptions", (("kind", "topic"),))] == 1
    assert metrics[("stomp_queue_messages", (("queue", "/queue/jobs"),))] == 3
    assert metrics[("stomp_auth_failures_total", ())] == 1
    assert metrics[("stomp_connections", (("transport", "tcp"),))] >= 1
    assert metrics[("stomp_received_bytes_total", ())] > 0
    assert metrics[("stomp_sent_bytes_total", ())] > 0
    assert metrics[("stomp_heartbeat_timeouts_total", ())] == 0
    assert metrics[("stomp_event_loop_lag_seconds", ())] >= 0
    assert metrics[("process_resident_memory_bytes", ())] > 1_000_000
    stats = broker.stats()  # the same counts as /stats
    assert stats["messages_in"] == 4 and stats["auth_failures"] == 1


def test_a_client_whose_heart_beats_stop_is_counted(tmp_path: Path) -> None:
    # the client promises a beat every 100 ms and sends none: cut after 100 ms x the grace
    with start_broker(tmp_path, toml=STATS_TOML + "[limits]\nheartbeat_grace = 2\n") as broker:
        silent = RawStomp(broker.tcp_port)
        silent.send(
            client_frame(
                "CONNECT",
                {"accept-version": "1.2", "login": "guest", "passcode": "guest",
                 "heart-beat": "100,0"},
            )
        )  # fmt: skip
        assert silent.next_frame().command == "CONNECTED"
        error = silent.next_frame()
        assert error.command == "ERROR" and "no heart-beat" in error.headers["message"]
        assert scrape(broker)[("stomp_heartbeat_timeouts_total", ())] == 1


def test_metrics_take_the_stats_rule(broker: BrokerProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(broker, "guest", "wrong")
    assert refused.value.code == 401
    assert "/metrics needs HTTP basic authentication" in refused.value.read().decode()


def test_metrics_are_off_where_stats_are(tmp_path: Path) -> None:
    with start_broker(tmp_path) as broker, pytest.raises(urllib.error.HTTPError) as refused:
        scrape(broker)
    assert refused.value.code == 403
    assert "/metrics is off" in refused.value.read().decode()
