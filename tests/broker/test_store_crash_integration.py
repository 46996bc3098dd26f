"""The SQLite store against `kill -9`: a receipted message and an unacknowledged one survive.

`BROKER_KILL_LOOPS=200 .venv/bin/python -m pytest tests/broker/test_store_crash_integration.py`
runs a longer loop of kills.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from raw_stomp import RawStomp
from real_broker import STATS_TOML, BrokerProcess, start_broker

from broker.frames import Frame

KILL_LOOPS = int(os.environ.get("BROKER_KILL_LOOPS", "6"))
BATCH = 20


def store_toml(tmp_path: Path) -> str:
    return STATS_TOML + f'[store]\nkind = "sqlite"\ndirectory = "{tmp_path / "store"}"\n'


def queue_depth(broker: BrokerProcess, queue: str) -> int:
    return broker.stats()["queues"].get(queue, 0)


def publish_until_killed(broker: BrokerProcess, run: int, rng: random.Random) -> set[bytes]:
    """Pipeline SENDs with receipts, then kill -9 the broker part way through a batch;
    returns the bodies whose RECEIPT arrived."""
    publisher = RawStomp(broker.tcp_port)
    publisher.connect()
    receipted: set[bytes] = set()
    batches = rng.randint(1, 15)
    for batch in range(batches + 1):
        numbers = range(batch * BATCH, (batch + 1) * BATCH)
        publisher.send(
            b"".join(
                f"SEND\ndestination:/queue/crash\nreceipt:{n}\n\n{run}-{n}\x00".encode()
                for n in numbers
            )
        )
        wanted = BATCH if batch < batches else rng.randint(0, BATCH - 1)
        for _ in range(wanted):
            receipt = publisher.next_frame()
            assert receipt.command == "RECEIPT", receipt
            receipted.add(f"{run}-{receipt.headers['receipt-id']}".encode())
    broker.process.kill()
    broker.process.wait()
    publisher.close()
    return receipted


def drain(broker: BrokerProcess, queue: str) -> list[Frame]:
    """Every message the queue holds, acknowledged one by one."""
    depth = queue_depth(broker, queue)
    consumer = RawStomp(broker.tcp_port)
    consumer.connect()
    consumer.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nack:client-individual\n\n\x00")
    messages = []
    for _ in range(depth):
        messages.append(consumer.next_frame())
        consumer.send(f"ACK\nid:{messages[-1].headers['ack']}\n\n\x00")
    consumer.send("DISCONNECT\nreceipt:done\n\n\x00")
    assert consumer.next_frame().headers["receipt-id"] == "done"
    consumer.close()
    return messages


def test_receipted_messages_survive_kill_9_at_any_moment(tmp_path: Path) -> None:
    rng = random.Random(8)
    toml = store_toml(tmp_path)
    for run in range(KILL_LOOPS):
        with start_broker(tmp_path / f"run-{run}", toml=toml) as broker:
            receipted = publish_until_killed(broker, run, rng)
        with start_broker(tmp_path / f"check-{run}", toml=toml) as broker:
            survivors = {message.body for message in drain(broker, "/queue/crash")}
            assert receipted <= survivors, sorted(receipted - survivors)[:5]


def test_delivered_but_unacknowledged_messages_are_redelivered_after_kill_9(
    tmp_path: Path,
) -> None:
    toml = store_toml(tmp_path)
    with start_broker(tmp_path / "first", toml=toml) as broker:
        publisher = RawStomp(broker.tcp_port)
        publisher.connect()
        for n in range(7):
            publisher.send(f"SEND\ndestination:/queue/unacked\nreceipt:{n}\n\n{n}\x00")
            assert publisher.next_frame().command == "RECEIPT"
        consumer = RawStomp(broker.tcp_port)
        consumer.connect()
        consumer.send("SUBSCRIBE\nid:1\ndestination:/queue/unacked\nack:client\n\n\x00")
        assert [consumer.next_frame().body for _ in range(7)] == [b"%d" % n for n in range(7)]
        broker.process.kill()
        broker.process.wait()
    with start_broker(tmp_path / "second", toml=toml) as broker:
        redelivered = sorted(
            (m.body, m.headers.get("redelivered")) for m in drain(broker, "/queue/unacked")
        )
        assert redelivered == [(b"%d" % n, "true") for n in range(7)]
