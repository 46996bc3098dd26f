"""The queue stores behind coilmq's QueueStore seam: order, redelivery, and what survives."""

from __future__ import annotations

from pathlib import Path

import pytest
from stomp_bytes import Client, make_broker

from broker.config import Store
from broker.stores import READ_AHEAD, MemoryStore, SqliteStore, StoredMessage


def message(number: int) -> StoredMessage:
    return StoredMessage({"message-id": str(number)}, b"%d" % number)


def bodies(store: MemoryStore | SqliteStore, destination: str) -> list[bytes]:
    taken = []
    while (frame := store.dequeue(destination)) is not None:
        taken.append(frame.body)
    return taken


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore | SqliteStore:
    return MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "q.sqlite3")


def test_messages_come_out_in_order_and_a_requeued_one_first(
    store: MemoryStore | SqliteStore,
) -> None:
    for number in range(3 * READ_AHEAD):
        store.enqueue("/queue/q", message(number))
    first = store.dequeue("/queue/q")
    assert first is not None
    store.requeue("/queue/q", first)
    store.enqueue("/queue/q", message(3 * READ_AHEAD))
    assert bodies(store, "/queue/q") == [b"%d" % n for n in range(3 * READ_AHEAD + 1)]
    assert store.size("/queue/q") == 0


def test_sqlite_store_reopened_holds_what_was_not_acknowledged(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.sqlite3")
    for number in range(READ_AHEAD + 10):
        store.enqueue("/queue/q", message(number))
    taken = [store.dequeue("/queue/q") for _ in range(5)]
    for frame in taken[:3]:
        assert frame is not None
        store.ack("/queue/q", frame)
    store.commit()  # no close(): the process dies here
    reopened = SqliteStore(tmp_path / "q.sqlite3")
    assert reopened.size("/queue/q") == READ_AHEAD + 7
    assert bodies(reopened, "/queue/q") == [b"%d" % n for n in range(3, READ_AHEAD + 10)]


def test_empty_body_survives_the_sqlite_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.sqlite3")
    store.enqueue("/queue/q", StoredMessage({}, b""))
    store.commit()
    assert bodies(SqliteStore(tmp_path / "q.sqlite3"), "/queue/q") == [b""]


def test_after_a_crash_acked_messages_are_gone_and_delivered_ones_come_back_redelivered(
    tmp_path: Path,
) -> None:
    store = Store(kind="sqlite", directory=tmp_path)
    first = make_broker(store=store)
    consumer = Client(first)
    consumer.connect()
    consumer.send(
        "SUBSCRIBE\nid:1\ndestination:/queue/durable\nack:client-individual\n"
        "prefetch-count:3\n\n\x00"
    )
    publisher = Client(first)
    publisher.connect()
    for body in ("1", "2", "3", "4", "5"):
        publisher.publish("/queue/durable", body)
    frames = consumer.frames()
    consumer.send(f"ACK\nid:{frames[1].headers['ack']}\nreceipt:acked\n\n\x00")
    # Acknowledging one makes room (prefetch-count:3) for "4"; "5" is never handed out.
    assert [f.command for f in consumer.frames()] == ["MESSAGE", "RECEIPT"]
    second = make_broker(store=store)  # the first never shuts down: as after kill -9
    survivor = Client(second)
    survivor.connect()
    survivor.subscribe("/queue/durable")
    redelivered = [(f.body, f.headers.get("redelivered")) for f in survivor.frames()]
    assert redelivered == [(b"1", "true"), (b"3", "true"), (b"4", "true"), (b"5", None)]
