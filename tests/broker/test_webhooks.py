"""Webhooks driven with bytes and a fake clock: which events a receiver is owed, how they are
signed, when a failed POST is tried again, and what a full queue drops."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stomp_bytes import Client, Clock, make_broker

from broker.config import ConfigError, Webhook, config_from_dict
from broker.routing import Broker
from broker.webhooks import (
    SIGNATURE_HEADER,
    Delivery,
    Endpoint,
    answer_failure,
    verify_signature,
)

SECRET = "whsec-test"


def webhook(pattern: str = "/topic/games.*", **settings: Any) -> Webhook:
    return Webhook(pattern=pattern, url="http://127.0.0.1:9/hook", secret=SECRET, **settings)


def webhook_broker(clock: Clock | None = None, *rules: Webhook) -> Broker:
    return make_broker(clock, webhooks=rules or (webhook(),))


def connected(broker: Broker) -> Client:
    client = Client(broker)
    assert client.connect().command == "CONNECTED"
    return client


def events(delivery: Delivery | None) -> list[tuple[str, str]]:
    """(name, topic) of each event a POST carries."""
    assert delivery is not None
    return [(e["name"], e["topic"]) for e in json.loads(delivery.body)["events"]]


def take(endpoint: Endpoint, clock: Clock) -> Delivery | None:
    return endpoint.take(now=clock.monotonic, wall_time=clock.wall)


def test_first_subscriber_occupies_a_topic_and_the_last_one_gone_vacates_it() -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    first, second = connected(broker), connected(broker)
    first.subscribe("/topic/games.1", sid="a")
    second.subscribe("/topic/games.1", sid="b")
    second.send("UNSUBSCRIBE\nid:b\n\n\x00")
    first.send("DISCONNECT\n\n\x00")
    delivery = take(broker.webhooks.endpoints[0], clock)
    assert events(delivery) == [("occupied", "/topic/games.1"), ("vacated", "/topic/games.1")]


def test_topics_outside_the_pattern_and_queues_send_nothing() -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    client = connected(broker)
    client.subscribe("/topic/chat.1", sid="a")
    client.subscribe("/queue/games.1", sid="b")
    client.subscribe("/topic/games.1.status", sid="c")  # `*` is one word
    assert take(broker.webhooks.endpoints[0], clock) is None


def test_a_wildcard_subscription_occupies_its_pattern() -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    connected(broker).subscribe("/topic/games.*", sid="a")
    assert events(take(broker.webhooks.endpoints[0], clock)) == [("occupied", "/topic/games.*")]


def test_every_matching_receiver_gets_the_event() -> None:
    clock = Clock()
    broker = webhook_broker(clock, webhook(), webhook("/topic/#"))
    connected(broker).subscribe("/topic/games.1")
    assert [events(take(endpoint, clock)) for endpoint in broker.webhooks.endpoints] == [
        [("occupied", "/topic/games.1")],
        [("occupied", "/topic/games.1")],
    ]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    connected(broker).subscribe("/topic/games.1")
    delivery = take(broker.webhooks.endpoints[0], clock)
    assert delivery is not None
    header = dict(delivery.headers)[SIGNATURE_HEADER]
    timestamp = int(clock.wall)
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + delivery.body, hashlib.sha256
    ).hexdigest()
    assert header == f"t={timestamp},v1={expected}"


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ("nothing", True),
        ("body", False),
        ("secret", False),
        ("replayed", False),
        ("garbled", False),
        ("huge-timestamp", False),
    ],
)
def test_verify_signature_refuses_changes_and_replays(change: str, valid: bool) -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    connected(broker).subscribe("/topic/games.1")
    delivery = take(broker.webhooks.endpoints[0], clock)
    assert delivery is not None
    header, body, secret, now = (
        dict(delivery.headers)[SIGNATURE_HEADER],
        delivery.body,
        SECRET,
        clock.wall,
    )
    if change == "body":
        body = body.replace(b"occupied", b"vacated!")
    elif change == "secret":
        secret = "another"
    elif change == "replayed":
        now += 301
    elif change == "garbled":
        header = "t=²,v1=00"
    elif change == "huge-timestamp":
        header = f"t={'9' * 5000},v1=00"
    assert verify_signature(secret, header, body, now=now) is valid


def test_a_failed_post_is_retried_with_doubling_waits_up_to_the_cap() -> None:
    clock = Clock()
    broker = webhook_broker(
        clock, webhook(first_retry_seconds=1.0, max_retry_seconds=3.0, max_attempts=10)
    )
    endpoint = broker.webhooks.endpoints[0]
    connected(broker).subscribe("/topic/games.1")
    waits = []
    for _ in range(4):
        assert take(endpoint, clock) is not None
        endpoint.failed(now=clock.monotonic, reason="HTTP 500")
        wait = endpoint.wait_seconds(clock.monotonic)
        assert wait is not None
        clock.advance(wait - 0.001)
        assert take(endpoint, clock) is None  # not before its time
        clock.advance(0.001)
        waits.append(wait)
    assert waits == [1.0, 2.0, 3.0, 3.0]


def test_a_retry_resends_the_same_events_even_when_more_came() -> None:
    clock = Clock()
    broker = webhook_broker(clock)
    endpoint = broker.webhooks.endpoints[0]
    client = connected(broker)
    client.subscribe("/topic/games.1", sid="a")
    first = take(endpoint, clock)
    endpoint.failed(now=clock.monotonic, reason="HTTP 500")
    client.subscribe("/topic/games.2", sid="b")
    clock.advance(1.0)
    again = take(endpoint, clock)
    assert events(again) == events(first) == [("occupied", "/topic/games.1")]
    endpoint.succeeded()
    assert events(take(endpoint, clock)) == [("occupied", "/topic/games.2")]


def test_a_post_under_way_holds_back_the_next_one() -> None:
    """One POST at a time per receiver: the order of a topic's events cannot be overtaken."""
    clock = Clock()
    broker = webhook_broker(clock)
    endpoint = broker.webhooks.endpoints[0]
    client = connected(broker)
    client.subscribe("/topic/games.1", sid="a")
    assert take(endpoint, clock) is not None
    client.send("UNSUBSCRIBE\nid:a\n\n\x00")
    assert take(endpoint, clock) is None
    assert endpoint.wait_seconds(clock.monotonic) is None


def test_a_batch_failing_max_attempts_times_is_dropped_and_counted() -> None:
    clock = Clock()
    broker = webhook_broker(clock, webhook(max_attempts=2, first_retry_seconds=1.0))
    endpoint = broker.webhooks.endpoints[0]
    client = connected(broker)
    client.subscribe("/topic/games.1", sid="a")
    for _ in range(2):
        assert take(endpoint, clock) is not None
        endpoint.failed(now=clock.monotonic, reason="HTTP 500")
        clock.advance(1.0)
    client.subscribe("/topic/games.2", sid="b")
    assert events(take(endpoint, clock)) == [("occupied", "/topic/games.2")]
    assert broker.stats()["webhooks"] == {
        "queued": 1,
        "delivered": 0,
        "failed_attempts": 2,
        "dropped": 1,
    }


def test_a_full_queue_drops_new_events_and_counts_them() -> None:
    clock = Clock()
    broker = webhook_broker(clock, webhook(max_queued_events=2))
    client = connected(broker)
    for n in range(5):
        client.subscribe(f"/topic/games.{n}", sid=str(n))
    assert events(take(broker.webhooks.endpoints[0], clock)) == [
        ("occupied", "/topic/games.0"),
        ("occupied", "/topic/games.1"),
    ]
    assert broker.stats()["webhooks"]["dropped"] == 3


def test_an_overflowing_queue_logs_once_until_it_takes_events_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    broker = webhook_broker(clock, webhook(max_queued_events=1))
    endpoint = broker.webhooks.endpoints[0]
    client = connected(broker)
    for n in range(3):
        client.subscribe(f"/topic/games.{n}", sid=str(n))
    take(endpoint, clock)
    endpoint.succeeded()
    client.subscribe("/topic/games.3", sid="3")  # taken: the queue had room again
    client.subscribe("/topic/games.4", sid="4")
    warnings = [r.getMessage() for r in caplog.records if r.name == "broker.webhooks"]
    assert (
        warnings
        == [
            "webhook http://127.0.0.1:9/hook: 1 events queued (max_queued_events): dropping new "
            "events until it answers"
        ]
        * 2
    )


def test_a_batch_carries_at_most_max_batch_events_oldest_first() -> None:
    clock = Clock()
    broker = webhook_broker(clock, webhook(max_batch_events=2))
    endpoint = broker.webhooks.endpoints[0]
    client = connected(broker)
    for n in range(3):
        client.subscribe(f"/topic/games.{n}", sid=str(n))
    assert [topic for _, topic in events(take(endpoint, clock))] == [
        "/topic/games.0",
        "/topic/games.1",
    ]
    endpoint.succeeded()
    assert events(take(endpoint, clock)) == [("occupied", "/topic/games.2")]
    endpoint.succeeded()
    assert broker.stats()["webhooks"]["delivered"] == 3


def test_without_webhooks_nothing_is_counted() -> None:
    broker = make_broker()
    connected(broker).subscribe("/topic/games.1")
    assert broker.webhooks.endpoints == []
    assert broker.stats()["webhooks"]["queued"] == 0


# (client, subscribe or unsubscribe or drop its connection, topic)
STEPS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["subscribe", "unsubscribe", "drop"]),
        st.sampled_from(["games.1", "games.2", "games.*"]),
    ),
    max_size=40,
)


@given(steps=STEPS)
def test_each_topic_alternates_occupied_and_vacated_and_ends_as_it_is(
    steps: list[tuple[int, str, str]],
) -> None:
    """Whatever clients do, a receiver sees each topic occupied, vacated, occupied... in order,
    and the last event it got says whether the topic has subscribers now."""
    clock = Clock()
    broker = webhook_broker(clock, webhook(max_batch_events=3))
    endpoint = broker.webhooks.endpoints[0]
    clients = [connected(broker) for _ in range(3)]
    subscribed: list[dict[str, str]] = [{} for _ in clients]  # topic → subscription id
    received: list[tuple[str, str]] = []
    for number, (index, action, topic) in enumerate(steps):
        if action == "subscribe":
            clients[index].subscribe(f"/topic/{topic}", sid=str(number))
            subscribed[index].setdefault(topic, str(number))
        elif action == "unsubscribe" and topic in subscribed[index]:
            clients[index].send(f"UNSUBSCRIBE\nid:{subscribed[index].pop(topic)}\n\n\x00")
        elif action == "drop":
            clients[index].session.connection_lost("dropped")
            clients[index], subscribed[index] = connected(broker), {}
        if number % 4 == 0:  # a POST now and then, while more events come
            delivery = take(endpoint, clock)
            if delivery is not None:
                received += events(delivery)
                endpoint.succeeded()
    while (delivery := take(endpoint, clock)) is not None:
        received += events(delivery)
        endpoint.succeeded()
    for topic in ("games.1", "games.2", "games.*"):
        names = [name for name, seen in received if seen == f"/topic/{topic}"]
        assert names == ["occupied", "vacated"] * (len(names) // 2) + ["occupied"] * (
            len(names) % 2
        )
        occupied = f"/topic/{topic}" in broker.stats()["subscriptions"]
        last = names[-1] if names else "vacated"
        assert last == ("occupied" if occupied else "vacated")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"pattern": "/topic/a"}, "webhooks[0]: missing 'url'"),
        (
            {"pattern": "/queue/a", "url": "http://h/", "secret": "s"},
            "webhooks[0].pattern: expected a /topic/ destination, got '/queue/a'",
        ),
        (
            {"pattern": "/topic/a", "url": "ftp://h/", "secret": "s"},
            "webhooks[0].url: expected an http:// or https:// URL, got 'ftp://h/'",
        ),
        (
            {"pattern": "/topic/a", "url": "http://h:99999/", "secret": "s"},
            "webhooks[0].url: expected an http:// or https:// URL, got 'http://h:99999/'",
        ),
        (
            {"pattern": "/topic/a", "url": "https://u:pw@h/", "secret": "s"},
            "webhooks[0].url: no user or password in the URL",
        ),
        (
            {"pattern": "/topic/a", "url": "http://h/", "secret": ""},
            "webhooks[0].secret: must not be empty",
        ),
        (
            {"pattern": "/topic/a", "url": "http://h/", "secret": "s", "max_attempts": 0},
            "webhooks[0].max_attempts: must be positive, got 0",
        ),
        (
            {"pattern": "/topic/a", "url": "http://h/", "secret": "s", "retries": 3},
            "webhooks[0]: unknown setting 'retries'",
        ),
    ],
)
def test_bad_webhook_config_is_refused_naming_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from_dict({"webhooks": [table]})
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("status_line", "failure"),
    [
        (b"HTTP/1.1 204 No Content\r\n", None),
        (b"HTTP/1.1 503 Busy\r\n", "HTTP 503"),
        (b"HTTP/1.1 " + b"2" * 5_000 + b" OK\r\n", "not an HTTP answer"),
        ("HTTP/1.1 2²0 OK\r\n".encode(), "not an HTTP answer"),
        (b"", "not an HTTP answer"),
    ],
)
def test_a_status_line_is_read_as_three_digits_or_not_an_answer(
    status_line: bytes, failure: str | None
) -> None:
    reason = answer_failure(status_line)
    assert (reason if reason is None else reason.split(":")[0]) == failure
