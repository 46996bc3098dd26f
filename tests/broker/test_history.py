"""History and resume, driven with bytes and a fake clock: which messages a topic keeps, what a
resuming SUBSCRIBE gets, and the signals that tell a page to reload instead."""

from __future__ import annotations

import tracemalloc

import pytest
from stomp_bytes import Client, Clock, make_broker

from broker.config import ConfigError, History, config_from_dict
from broker.frames import Frame
from broker.history import pattern_matches
from broker.routing import Broker

STATUS = "/topic/games.7.status"


def history_broker(clock: Clock | None = None, **rule: object) -> Broker:
    """A broker keeping history for /topic/games.*.status (limits as `rule` says)."""
    return make_broker(clock, history=(History(pattern="/topic/games.*.status", **rule),))


def connected(broker: Broker) -> Client:
    client = Client(broker)
    assert client.connect().command == "CONNECTED"
    return client


def publish(broker: Broker, *bodies: str, destination: str = STATUS) -> list[int]:
    """Publish `bodies` and return the offsets a subscriber saw them under."""
    watcher = connected(broker)
    watcher.subscribe(destination, sid="watch")
    publisher = connected(broker)
    for body in bodies:
        publisher.publish(destination, body)
    offsets = [int(frame.headers["x-stream-offset"]) for frame in watcher.frames()]
    watcher.send("DISCONNECT\n\n\x00")
    return offsets


def resume(client: Client, offset: str, destination: str = STATUS) -> list[Frame]:
    client.send(
        f"SUBSCRIBE\nid:r\ndestination:{destination}\nx-stream-offset:{offset}\n"
        "receipt:resumed\n\n\x00"
    )
    return client.frames()


def test_messages_on_a_history_topic_carry_consecutive_offsets() -> None:
    offsets = publish(history_broker(), "a", "b", "c")
    assert offsets == [offsets[0], offsets[0] + 1, offsets[0] + 2]


def test_resume_replays_what_was_missed_in_order_before_the_receipt_then_live() -> None:
    broker = history_broker()
    offsets = publish(broker, "q1", "q2", "q3", "q4")
    client = connected(broker)
    frames = resume(client, f"offset={offsets[1]}")
    connected(broker).publish(STATUS, "q5")
    frames += client.frames()
    assert [(f.command, f.body) for f in frames] == [
        ("MESSAGE", b"q2"),
        ("MESSAGE", b"q3"),
        ("MESSAGE", b"q4"),
        ("RECEIPT", b""),
        ("MESSAGE", b"q5"),
    ]
    assert frames[3].headers["x-stream-resume"] == "resumed"
    assert [f.headers["subscription"] for f in frames if f.command == "MESSAGE"] == ["r"] * 4


def test_resume_at_the_next_offset_replays_nothing_and_is_confirmed() -> None:
    broker = history_broker()
    offsets = publish(broker, "q1")
    frames = resume(connected(broker), f"offset={offsets[-1] + 1}")
    assert [(f.command, f.headers.get("x-stream-resume")) for f in frames] == [
        ("RECEIPT", "resumed")
    ]


def test_resume_past_max_messages_is_too_old_and_the_subscription_stays_live() -> None:
    broker = history_broker(max_messages=2)
    offsets = publish(broker, "q1", "q2", "q3")
    client = connected(broker)
    frames = resume(client, f"offset={offsets[0]}")
    assert [(f.command, f.headers.get("x-stream-resume")) for f in frames] == [
        ("RECEIPT", "too-old")
    ]
    connected(broker).publish(STATUS, "q4")
    assert [f.body for f in client.frames()] == [b"q4"]


def test_resume_past_max_age_is_too_old() -> None:
    clock = Clock()
    broker = history_broker(clock, max_age_seconds=30)
    offsets = publish(broker, "q1", "q2")
    clock.advance(31)
    frames = resume(connected(broker), f"offset={offsets[1]}")
    assert [f.headers.get("x-stream-resume") for f in frames] == ["too-old"]


def test_messages_within_max_age_are_replayed() -> None:
    clock = Clock()
    broker = history_broker(clock, max_age_seconds=30)
    offsets = publish(broker, "old")
    clock.advance(20)
    publish(broker, "new")
    clock.advance(20)
    frames = resume(connected(broker), f"offset={offsets[0] + 1}")
    assert [f.body for f in frames] == [b"new", b""]


def test_history_keeps_at_most_max_bytes_per_topic() -> None:
    # A message of 10,000 bytes holds 20,000 and more: its body, and its MESSAGE's encoding
    # for the subscriber's STOMP version.
    broker = history_broker(max_bytes_per_topic=45_000)
    offsets = publish(broker, "a" * 10_000, "b" * 10_000, "c" * 10_000)
    assert resume(connected(broker), f"offset={offsets[0]}")[-1].headers["x-stream-resume"] == (
        "too-old"
    )
    frames = resume(connected(broker), f"offset={offsets[1]}")
    assert [f.body[:1] for f in frames] == [b"b", b"c", b""]


def test_past_max_topics_the_least_recently_published_topic_is_forgotten() -> None:
    broker = history_broker(max_topics=1)
    first = publish(broker, "x", destination="/topic/games.1.status")
    publish(broker, "y", destination="/topic/games.2.status")
    frames = resume(connected(broker), f"offset={first[0]}", "/topic/games.1.status")
    assert frames[-1].headers["x-stream-resume"] == "too-old"


def test_offsets_after_a_restart_are_too_old_not_mistaken() -> None:
    clock = Clock()
    before = publish(history_broker(clock), "q1", "q2")
    clock.advance(5)
    restarted = history_broker(clock)
    publish(restarted, "other")
    frames = resume(connected(restarted), f"offset={before[1] + 1}")
    assert [f.headers.get("x-stream-resume") for f in frames] == ["too-old"]


def test_a_topic_without_history_says_so_and_its_messages_carry_no_offset() -> None:
    broker = history_broker()
    subscriber = connected(broker)
    subscriber.subscribe("/topic/games.7.players")
    connected(broker).publish("/topic/games.7.players", "p")
    assert "x-stream-offset" not in subscriber.frame().headers
    frames = resume(connected(broker), "offset=5", "/topic/games.7.players")
    assert [f.headers.get("x-stream-resume") for f in frames] == ["no-history"]


def test_a_subscriber_without_the_header_gets_no_replay() -> None:
    broker = history_broker()
    publish(broker, "q1", "q2")
    client = connected(broker)
    client.send(f"SUBSCRIBE\nid:1\ndestination:{STATUS}\nreceipt:r\n\n\x00")
    frame = client.frame()
    assert frame.command == "RECEIPT" and "x-stream-resume" not in frame.headers


def test_a_publisher_cannot_forge_an_offset() -> None:
    broker = history_broker()
    subscriber = connected(broker)
    subscriber.subscribe("/topic/plain")
    connected(broker).publish("/topic/plain", headers="x-stream-offset:99\n")
    assert "x-stream-offset" not in subscriber.frame().headers


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            "destination:/topic/games.*.status\nx-stream-offset:offset=1\nreceipt:r\n",
            "x-stream-offset resumes one topic, not /topic/games.*.status",
        ),
        (
            "destination:/queue/jobs\nx-stream-offset:offset=1\nreceipt:r\n",
            "x-stream-offset resumes one topic, not /queue/jobs",
        ),
        (
            f"destination:{STATUS}\nx-stream-offset:last\nreceipt:r\n",
            "x-stream-offset must be offset=<n> with n a whole number, got 'last'",
        ),
        (
            f"destination:{STATUS}\nx-stream-offset:offset=\u00b2\nreceipt:r\n",
            "x-stream-offset must be offset=<n> with n a whole number, got 'offset=\u00b2'",
        ),
        (
            f"destination:{STATUS}\nx-stream-offset:offset={'9' * 5000}\nreceipt:r\n",
            "x-stream-offset must be offset=<n> with n a whole number, got 'offset=999",
        ),
        (
            f"destination:{STATUS}\nx-stream-offset:offset=1\n",
            "a SUBSCRIBE with x-stream-offset needs a receipt header",
        ),
    ],
)
def test_bad_resume_is_an_error_and_others_keep_receiving(headers: str, reason: str) -> None:
    broker = history_broker()
    bystander = connected(broker)
    bystander.subscribe(STATUS)
    client = connected(broker)
    client.send(f"SUBSCRIBE\nid:1\n{headers}\n\x00")
    error = client.frame()
    assert error.command == "ERROR" and error.headers["message"].startswith(reason)
    connected(broker).publish(STATUS, "still")
    assert [f.body for f in bystander.frames()] == [b"still"]


def test_history_is_read_with_the_topics_permission() -> None:
    broker = history_broker()
    offsets = publish(broker, "secret")
    reader = Client(broker)
    assert reader.connect(login="reader").command == "CONNECTED"
    frames = resume(reader, f"offset={offsets[0]}")
    assert [f.command for f in frames] == ["ERROR"]
    assert frames[0].headers["message"] == (
        f"access refused: 'reader' may not subscribe to {STATUS}"
    )


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("games.*.status", "games.7.status", True),
        ("games.*.status", "games.7.players", False),
        ("games.#", "games", True),
        ("#.status", "a.b.status", True),
        ("*.status", "a.b.status", False),
    ],
)
def test_history_patterns_use_the_subscription_wildcards(
    pattern: str, name: str, matches: bool
) -> None:
    assert pattern_matches(pattern.split("."), name.split(".")) is matches


def test_history_is_read_from_the_config() -> None:
    config = config_from_dict(
        {"history": [{"pattern": STATUS, "max_messages": 5, "max_age_seconds": 2.5}]}
    )
    assert config.history == (History(pattern=STATUS, max_messages=5, max_age_seconds=2.5),)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"pattern": "/queue/x"}, "history[0].pattern: expected a /topic/ destination"),
        ({"pattern": STATUS, "max_messages": 0}, "history[0].max_messages: must be positive"),
        ({"pattern": STATUS, "keep": 1}, "history[0]: unknown setting 'keep'"),
        ({"max_messages": 1}, "history[0]: missing 'pattern'"),
        ("/topic/x", "history[0]: expected a table with pattern, got '/topic/x'"),
    ],
)
def test_bad_history_config_names_the_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict({"history": [entry]})


def test_a_replay_that_does_not_fit_a_dropping_subscriber_is_too_old_not_resumed() -> None:
    broker = make_broker(
        history=(History(pattern="/topic/games.*.status"),),
        limits={"slow_consumer_policy": "drop", "output_high_water_bytes": 1000},
    )
    offsets = publish(broker, *(f"q{n}" * 300 for n in range(5)))
    frames = resume(connected(broker), f"offset={offsets[0]}")
    assert frames[-1].headers["x-stream-resume"] == "too-old"
    assert len(frames) < 6  # not all five were replayed


def test_a_replay_that_overflows_a_disconnecting_subscriber_ends_with_its_error() -> None:
    broker = make_broker(
        history=(History(pattern="/topic/games.*.status"),),
        limits={"output_high_water_bytes": 1000, "max_output_buffer_bytes": 2000},
    )
    offsets = publish(broker, "first")
    publisher = connected(broker)
    for n in range(5):
        publisher.publish(STATUS, f"q{n}" * 300)
    frames = resume(connected(broker), f"offset={offsets[0] + 1}")
    assert frames[-1].command == "ERROR"
    assert frames[-1].headers["message"].startswith("slow consumer")


def test_stats_show_what_the_history_keeps() -> None:
    broker = history_broker(max_messages=2)
    publish(broker, "a", "b", "c")
    publish(broker, "d", destination="/topic/games.8.status")
    connected(broker).publish("/topic/games.8.players", "not kept")
    history = broker.stats()["history"]
    assert (history["topics"], history["messages"]) == (2, 3)
    assert history["bytes"] > 0


def test_a_reader_before_the_first_message_knows_the_offset_it_will_get() -> None:
    broker = history_broker()
    log = broker.history.log_to_read("games.7.status")
    assert log is not None
    first = log.next_offset
    assert publish(broker, "first") == [first]


def test_a_waiting_reader_is_woken_once_by_the_next_message() -> None:
    broker = history_broker()
    log = broker.history.log_to_read("games.7.status")
    assert log is not None
    woken: list[str] = []
    log.waiters[lambda: woken.append("woken")] = None
    publish(broker, "a", "b")
    assert (woken, log.waiters) == (["woken"], {})


def test_history_holds_no_more_memory_than_max_topics_times_max_bytes_per_topic() -> None:
    # Subscribers of all three STOMP versions, so that each message is encoded three times.
    rule = History(
        pattern="/topic/kept.*", max_topics=4, max_bytes_per_topic=64 * 1024, max_messages=10_000
    )
    broker = make_broker(history=(rule,))
    subscribers = []
    for version in ("1.0", "1.1", "1.2"):
        subscriber = Client(broker)
        subscriber.connect(version)
        subscriber.subscribe("/topic/kept.*")
        subscribers.append(subscriber)
    publisher = connected(broker)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(4_000):
            publisher.publish(f"/topic/kept.{n % 4}", "x" * 300)
            for subscriber in subscribers:
                subscriber.flush()
                subscriber.outputs.clear()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert broker.stats()["history"]["topics"] == 4
    assert held <= rule.max_topics * rule.max_bytes_per_topic
