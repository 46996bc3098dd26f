"""Queues bound to topic patterns (`[[bindings]]`): each client writes to a topic of its own
while consumers take turns at one queue, and the queue's copy says when the broker got it."""

from __future__ import annotations

import pytest
from stomp_bytes import Client, Clock, make_broker

from broker.config import Binding, ConfigError, config_from_dict
from broker.routing import Broker

ANSWERS = Binding(pattern="/topic/games.*.answers.*", queue="/queue/answers")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker(clock: Clock) -> Broker:
    return make_broker(clock, bindings=(ANSWERS,))


def connected(broker: Broker) -> Client:
    client = Client(broker)
    assert client.connect().command == "CONNECTED"
    return client


def test_a_message_to_a_bound_topic_waits_in_the_queue_with_its_topic_and_arrival(
    broker: Broker, clock: Clock
) -> None:
    connected(broker).publish("/topic/games.42.answers.7", '{"choice":1}')
    consumer = connected(broker)
    consumer.subscribe("/queue/answers", ack="client-individual")
    (message,) = consumer.frames()
    assert message.headers["destination"] == "/topic/games.42.answers.7"
    assert message.headers["timestamp_in_ms"] == str(int(clock.wall * 1000))
    assert message.body == b'{"choice":1}'


def test_a_client_cannot_set_the_arrival_time(broker: Broker, clock: Clock) -> None:
    consumer = connected(broker)
    consumer.subscribe("/queue/answers")
    connected(broker).publish("/topic/games.42.answers.7", headers="timestamp_in_ms:1\n")
    (message,) = consumer.frames()
    assert message.headers["timestamp_in_ms"] == str(int(clock.wall * 1000))


def test_consumers_of_the_bound_queue_take_turns(broker: Broker) -> None:
    first, second = connected(broker), connected(broker)
    first.subscribe("/queue/answers")
    second.subscribe("/queue/answers")
    publisher = connected(broker)
    for player in range(4):
        publisher.publish(f"/topic/games.42.answers.{player}", str(player))
    assert [frame.body for frame in first.frames()] == [b"0", b"2"]
    assert [frame.body for frame in second.frames()] == [b"1", b"3"]


def test_topic_subscribers_still_get_the_message_and_no_arrival_stamp(broker: Broker) -> None:
    watcher = connected(broker)
    watcher.subscribe("/topic/games.42.#")
    connected(broker).publish("/topic/games.42.answers.7", "a")
    (message,) = watcher.frames()
    assert "timestamp_in_ms" not in message.headers


def test_a_topic_the_pattern_does_not_match_reaches_no_queue(broker: Broker) -> None:
    connected(broker).publish("/topic/games.42.status", "s")
    consumer = connected(broker)
    consumer.subscribe("/queue/answers")
    assert consumer.frames() == []


def test_a_full_bound_queue_refuses_the_send_with_an_error(clock: Clock) -> None:
    broker = make_broker(clock, bindings=(ANSWERS,), limits={"max_queue_messages": 1})
    publisher = connected(broker)
    publisher.publish("/topic/games.42.answers.1", "kept")
    publisher.publish("/topic/games.42.answers.2", "refused")
    (error,) = publisher.frames()
    assert error.command == "ERROR"
    assert error.headers["message"] == (
        "/queue/answers is full: it holds limits.max_queue_messages=1 messages"
    )


def test_an_unacknowledged_copy_is_delivered_again_after_its_consumer_leaves(
    broker: Broker,
) -> None:
    consumer = connected(broker)
    consumer.subscribe("/queue/answers", ack="client-individual")
    connected(broker).publish("/topic/games.42.answers.7", "once")
    assert [frame.body for frame in consumer.frames()] == [b"once"]
    consumer.session.close("gone")
    again = connected(broker)
    again.subscribe("/queue/answers", ack="client-individual")
    (message,) = again.frames()
    assert (message.body, message.headers["redelivered"]) == (b"once", "true")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"pattern": "/topic/a.*"}, "bindings[0]: missing 'queue'"),
        (
            {"pattern": "/queue/a", "queue": "/queue/b"},
            "bindings[0].pattern: expected a /topic/ destination, got '/queue/a'",
        ),
        (
            {"pattern": "/topic/a.*", "queue": "/topic/b"},
            "bindings[0].queue: expected a /queue/ destination, got '/topic/b'",
        ),
        (
            {"pattern": "/topic/a.*", "queue": "/queue/b", "durable": True},
            "bindings[0]: unknown setting 'durable'",
        ),
    ],
)
def test_a_binding_that_cannot_work_is_refused_at_startup(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from_dict({"bindings": [table]})
    assert str(refused.value) == message


def test_a_binding_reads_from_toml() -> None:
    config = config_from_dict({"bindings": [{"pattern": ANSWERS.pattern, "queue": ANSWERS.queue}]})
    assert config.bindings == (ANSWERS,)


def test_a_cumulative_ack_of_bound_copies_settles_them_and_lets_more_come(broker: Broker) -> None:
    """The copies are queue messages: an ACK settles them (a topic message's would settle
    nothing), so a consumer at its prefetch-count gets the next ones once it acknowledges."""
    consumer = connected(broker)
    consumer.send(
        "SUBSCRIBE\nid:1\ndestination:/queue/answers\nack:client\nprefetch-count:2\n\n\x00"
    )
    publisher = connected(broker)
    for player in range(4):
        publisher.publish(f"/topic/games.42.answers.{player}", str(player))
    first = consumer.frames()
    assert [frame.body for frame in first] == [b"0", b"1"]
    consumer.send(f"ACK\nid:{first[-1].headers['ack']}\n\n\x00")
    second = consumer.frames()
    assert [frame.body for frame in second] == [b"2", b"3"]
    consumer.send(f"ACK\nid:{second[-1].headers['ack']}\n\n\x00")
    consumer.session.close("gone")
    again = connected(broker)
    again.subscribe("/queue/answers", ack="client")
    assert again.frames() == []  # all four settled: nothing comes back
