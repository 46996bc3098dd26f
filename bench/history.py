"""History and resume, on a built-in broker of its own: how fast a resuming
subscriber gets a topic's kept messages replayed, and how long a subscriber whose connection
dropped takes to be back, caught up, on a new one.
"""

from __future__ import annotations

import time

from bench.queues import BODY, Measure, _Connection, _cpu
from bench.stomp import encode
from bench.targets import OURS, BuiltinBroker, Target
from bench.workloads import percentile

REPLAY_MESSAGES = 10_000  # kept, and replayed to each resuming subscriber
REPLAY_ROUNDS = 10
RESUMES = 300
# What the workloads' names begin with: bench.goals finds their runs by these.
REPLAY = "history replay"
RESUME = "resume after a drop"
TOML = f"""
[[history]]
pattern = "/topic/bench.#"
max_messages = {REPLAY_MESSAGES}
max_bytes_per_topic = 33554432  # 10,000 messages of 200 B hold 14 MB: a body and a tail each
"""


async def history_and_resume() -> list[Measure]:
    """The replay rate and the resume latency's p50 and p99."""
    replay = Measure(
        OURS, "tcp", f"{REPLAY}, {REPLAY_MESSAGES:,} x 200 B to a resuming subscriber", unit="msg/s"
    )
    p50 = Measure(OURS, "tcp", f"{RESUME} p50, one message missed", unit="ms")
    p99 = Measure(OURS, "tcp", f"{RESUME} p99, one message missed", unit="ms")
    broker = BuiltinBroker(16, toml=TOML)
    target = broker.start()
    try:
        publisher = await _Connection.open(target)
        first = await _publish(target, publisher, "/topic/bench.replay", REPLAY_MESSAGES)
        cpu_before, started = _cpu(target), time.monotonic()
        for _ in range(REPLAY_ROUNDS):
            subscriber = await _Connection.open(target)
            replay.received += await _resume(subscriber, "/topic/bench.replay", first)
            subscriber.close()
        replay.value = replay.received / (time.monotonic() - started)
        replay.broker_cpu = _cpu(target) - cpu_before
        replay.expected = REPLAY_MESSAGES * REPLAY_ROUNDS
        delays, cpu_before = [], _cpu(target)
        for _ in range(RESUMES):
            missed = await _publish(target, publisher, "/topic/bench.resume", 1)
            started = time.perf_counter()
            subscriber = await _Connection.open(target)
            p50.received += await _resume(subscriber, "/topic/bench.resume", missed)
            delays.append((time.perf_counter() - started) * 1000)
            subscriber.close()  # the drop: no DISCONNECT
        p50.expected = p99.expected = p99.received = RESUMES
        p50.broker_cpu = p99.broker_cpu = _cpu(target) - cpu_before
        delays.sort()
        p50.value, p99.value = percentile(delays, 50), percentile(delays, 99)
        publisher.close()
    except (OSError, RuntimeError) as error:
        replay.failure = p50.failure = p99.failure = str(error)
    finally:
        broker.stop()
    return [replay, p50, p99]


async def _publish(target: Target, publisher: _Connection, destination: str, count: int) -> int:
    """Send `count` messages, the last with a receipt; the offset of the first (which a
    subscriber reads)."""
    subscriber = await _Connection.open(target)
    subscriber.writer.write(
        encode("SUBSCRIBE", {"id": "1", "destination": destination, "receipt": "ready"})
    )
    await subscriber.next_frame()
    sends = [encode("SEND", {"destination": destination}, BODY) for _ in range(count - 1)]
    sends.append(encode("SEND", {"destination": destination, "receipt": "sent"}, BODY))
    publisher.writer.write(b"".join(sends))
    while (await publisher.next_frame()).command != b"RECEIPT":
        pass
    first = (await subscriber.next_frame()).header("x-stream-offset")
    subscriber.close()
    if first is None:
        raise RuntimeError(f"no x-stream-offset on {destination}: is its history configured?")
    return int(first)


async def _resume(subscriber: _Connection, destination: str, offset: int) -> int:
    """Resume at `offset`: the messages replayed before the RECEIPT, which must say so."""
    subscriber.writer.write(
        encode(
            "SUBSCRIBE",
            {
                "id": "1",
                "destination": destination,
                "x-stream-offset": f"offset={offset}",
                "receipt": "resumed",
            },
        )
    )
    replayed = 0
    while True:
        for frame in await subscriber.frames():
            if frame.command == b"MESSAGE":
                replayed += 1
            elif frame.command == b"RECEIPT" and frame.header("x-stream-resume") == "resumed":
                return replayed
            else:
                raise RuntimeError(f"resume at {offset} not honoured: {frame.head!r}")
