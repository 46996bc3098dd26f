"""The broker workloads: fan-out throughput, broadcast latency and idle memory.

A `Testbed` is one broker over one transport: the load generator's pooled subscribers and
one publisher in this process. Every run subscribes part of the pool to fresh topics,
publishes, counts what each subscriber got and measures CPU on every side over the same
interval.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.clients import ConnectionFailed, Endpoint, StompClient, open_client
from bench.cpu import machine_busy
from bench.loadgen import LoadGenerator, Received
from bench.stomp import encode
from bench.targets import Target

BODY_BYTES = 200
# The publisher's window: deliveries sent but not yet received. About WINDOW_SECONDS of
# work at the rate measured so far in the run, so that a broker can batch as it would under
# sustained load, yet the backlog stays bounded and drains quickly at the end. The floor
# keeps a slow start from shrinking the window, and with it the batching, for good.
WINDOW_SECONDS = 0.1
WINDOW_FLOOR = (5_000, 20)  # deliveries, or messages per subscriber if that is more
WINDOW_CEILING = (100_000, 500)  # deliveries, or messages per subscriber (~175 KB) if fewer
STALL_SECONDS = 5.0  # no delivery for this long ends a run; whatever is missing is lost
SETTLE_SECONDS = 1.0

_topic_ids = itertools.count(1)


@dataclass
class Run:
    """What every workload reports: loss, and the CPU each side used while it ran."""

    target: str
    transport: str
    workload: str
    expected: int = 0
    received: int = 0
    broker_cpu: float | None = None
    loadgen_cpu: float | None = None
    other_cpu: float | None = None  # everything else on the machine: a busy machine shows here
    dropped: list[str] = field(default_factory=list)
    failure: str | None = None
    skipped: str | None = None  # why it was not run (its setup could not start)

    @property
    def lost(self) -> int:
        return self.expected - self.received


@dataclass
class Throughput(Run):
    messages: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0


@dataclass
class Latency(Run):
    messages: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    spread_p50_ms: float = 0.0
    spread_p99_ms: float = 0.0


@dataclass
class Memory(Run):
    connections: int = 0
    rss_before: int = 0
    rss_after: int = 0

    @property
    def bytes_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.connections if self.connections else 0.0


def _topic(kind: str) -> str:
    return f"/topic/bench.{kind}{next(_topic_ids)}"


def _send_frame(destination: str, body: bytes) -> bytes:
    return encode("SEND", {"destination": destination, "content-type": "text/plain"}, body)


def _body(seq: int, sent_ns: int) -> bytes:
    """200 bytes that start with the sequence number and the send time (perf_counter_ns)."""
    return (b"%d %d " % (seq, sent_ns)).ljust(BODY_BYTES, b"x")


class Testbed:
    """One broker over one transport: pooled subscribers and a publisher."""

    def __init__(self, loadgen: LoadGenerator, target: Target, transport: str) -> None:
        self.loadgen = loadgen
        self.target = target
        self.transport = transport
        self._publisher: StompClient | None = None

    def new_run(self, kind: type[Run], workload: str) -> Run:
        return kind(self.target.name, self.transport, workload)

    async def subscribe(
        self, run: Run, destinations: list[str], endpoint: Endpoint | None = None, **options: bool
    ) -> bool:
        """Subscribers in place for `destinations` (at `endpoint`, else the target's own for
        this transport); False (and run.failure) if not."""
        endpoint = endpoint or self.target.endpoint(self.transport)
        failures = await self.loadgen.subscribe(endpoint, destinations, **options)
        if failures:
            run.failure = (
                f"{len(failures)} of {len(destinations)} subscribers failed, first: {failures[0]}"
            )
            await self.loadgen.collect()
            return False
        return True

    async def publisher(self, run: Run) -> StompClient | None:
        if self._publisher is None or self._publisher.closed.done():
            try:
                self._publisher = await asyncio.wait_for(
                    open_client(self.target.endpoint(self.transport)), 10
                )
            except (OSError, ConnectionFailed, TimeoutError) as error:
                run.failure = f"publisher could not connect: {error or 'timed out'}"
                await self.loadgen.collect()
                return None
        return self._publisher

    async def collect(self, run: Run) -> Received:
        """What the subscribers got; they unsubscribe and stay in the pool."""
        received = await self.loadgen.collect()
        run.received = received.deliveries
        run.dropped = received.dropped
        if self._publisher is not None and self._publisher.error:
            run.failure = f"publisher: {self._publisher.error}"
        return received

    async def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
        await self.loadgen.disconnect()


@dataclass(frozen=True)
class _CpuMark:
    """CPU seconds used so far by the broker, the load generator and the whole machine."""

    broker: float | None
    loadgen: float
    machine: float

    @classmethod
    def take(cls, testbed: Testbed) -> _CpuMark:
        return cls(testbed.target.cpu_seconds(), testbed.loadgen.cpu_seconds(), machine_busy())

    def charge(self, run: Run, testbed: Testbed) -> None:
        """Set the run's CPU columns to what was used since this mark."""
        now = _CpuMark.take(testbed)
        if self.broker is not None and now.broker is not None:
            run.broker_cpu = now.broker - self.broker
        run.loadgen_cpu = now.loadgen - self.loadgen
        run.other_cpu = max(
            0.0, now.machine - self.machine - (run.broker_cpu or 0.0) - run.loadgen_cpu
        )


async def _wait_for_deliveries(loadgen: LoadGenerator, expected: int) -> int:
    """Until every delivery is in, or none has come for STALL_SECONDS.

    Returns when the last delivery was seen (perf_counter_ns, polled every millisecond).
    """
    last, last_change = -1, time.perf_counter_ns()
    while (delivered := loadgen.delivered()) < expected:
        now = time.perf_counter_ns()
        if delivered != last:
            last, last_change = delivered, now
        elif now - last_change > STALL_SECONDS * 1e9:
            return last_change
        await asyncio.sleep(0.001)
    return time.perf_counter_ns()


async def fanout(
    testbed: Testbed,
    *,
    topics: int,
    subscribers_per_topic: int,
    seconds: float,
    presence: bool = False,
) -> Throughput:
    """SENDs for `seconds`, round-robin over `topics`, each with its own subscribers (with
    `presence`, each announced on its topic, as the players' pages are).

    The publisher paces itself on what subscribers received (see WINDOW_SECONDS), so the
    rate is what the broker sustains, not how fast it can queue.
    """
    shape = f"{topics} topics" if topics > 1 else "1 topic"
    suffix = ", presence on" if presence else ""
    run = testbed.new_run(Throughput, f"{shape} x {subscribers_per_topic}{suffix}")
    assert isinstance(run, Throughput)
    names = [_topic("fanout") for _ in range(topics)]
    destinations = [topic for topic in names for _ in range(subscribers_per_topic)]
    endpoint = testbed.target.announcing(testbed.transport) if presence else None
    if presence and endpoint is None:
        run.skipped = f"{testbed.target.name} has no presence"
        return run
    if not await testbed.subscribe(run, destinations, endpoint, announce=presence):
        return run
    publisher = await testbed.publisher(run)
    if publisher is None:
        return run
    loadgen = testbed.loadgen
    frames = [_send_frame(topic, _body(0, 0)) for topic in names]
    lowest = max(WINDOW_FLOOR[0], WINDOW_FLOOR[1] * len(destinations))
    highest = min(WINDOW_CEILING[0], WINDOW_CEILING[1] * len(destinations))
    cpu = _CpuMark.take(testbed)
    started = time.perf_counter_ns()
    deadline = started + int(seconds * 1e9)
    sent = 0
    while (now := time.perf_counter_ns()) < deadline and publisher.error is None:
        delivered = loadgen.delivered()
        rate = delivered / max(now - started, 1) * 1e9
        window = max(lowest, min(highest, int(rate * WINDOW_SECONDS)))
        room = (window - (sent * subscribers_per_topic - delivered)) // subscribers_per_topic
        if room <= 0:
            await asyncio.sleep(0.001)
            continue
        batch = min(room, 1000)
        publisher.send_many([frames[(sent + index) % topics] for index in range(batch)])
        sent += batch
        await publisher.drain()
        await asyncio.sleep(0)
    run.messages = sent
    run.expected = sent * subscribers_per_topic
    finished = await _wait_for_deliveries(loadgen, run.expected)
    run.seconds = (finished - started) / 1e9
    cpu.charge(run, testbed)
    await testbed.collect(run)
    return run


async def latency(testbed: Testbed, *, subscribers: int, rounds: int) -> Latency:
    """One message at a time to every subscriber of one topic; the next once all have it."""
    run = testbed.new_run(Latency, f"1 topic x {subscribers}")
    assert isinstance(run, Latency)
    topic = _topic("latency")
    if not await testbed.subscribe(run, [topic] * subscribers, record_latency=True):
        return run
    publisher = await testbed.publisher(run)
    if publisher is None:
        return run
    cpu = _CpuMark.take(testbed)
    for seq in range(rounds):
        publisher.send(_send_frame(topic, _body(seq, time.perf_counter_ns())))
        run.messages += 1
        run.expected += subscribers
        await _wait_for_deliveries(testbed.loadgen, run.expected)
        if testbed.loadgen.delivered() < run.expected or publisher.error:
            break
    cpu.charge(run, testbed)
    received = await testbed.collect(run)
    if received.delays_ns:
        delays = sorted(received.delays_ns)
        spreads = sorted(
            received.last_ns_by_seq[seq] - first for seq, first in received.first_ns_by_seq.items()
        )
        run.p50_ms = percentile(delays, 50) / 1e6
        run.p99_ms = percentile(delays, 99) / 1e6
        run.spread_p50_ms = percentile(spreads, 50) / 1e6
        run.spread_p99_ms = percentile(spreads, 99) / 1e6
    return run


async def idle_memory(testbed: Testbed, *, connections: int, topics: int = 100) -> Memory:
    """Broker RSS with `connections` idle subscribers, minus RSS before them.

    Each subscribes to one of `topics` topics, as players of a few games would. A few
    connections come and go first, so that RSS before includes what the first connection
    loads once.
    """
    run = testbed.new_run(Memory, f"{connections:,} idle")
    assert isinstance(run, Memory)
    target = testbed.target
    if target.process is None:
        run.failure = "broker process not on this machine: RSS unknown"
        return run
    fd_limit = target.fd_limit()
    if fd_limit is not None and fd_limit < connections + 100:
        run.failure = (
            f"the broker may open only {fd_limit} files; raise its limit (ulimit -n) "
            f"above {connections + 100} before starting it"
        )
        return run
    if not await testbed.subscribe(run, [_topic("warmup")] * 20):
        return run
    await testbed.close()
    await asyncio.sleep(SETTLE_SECONDS)
    run.rss_before = target.rss() or 0
    names = [_topic("idle") for _ in range(topics)]
    if not await testbed.subscribe(run, [names[index % topics] for index in range(connections)]):
        await testbed.close()
        return run
    await asyncio.sleep(SETTLE_SECONDS)
    run.rss_after = target.rss() or 0
    await testbed.collect(run)
    run.connections = connections - len(run.dropped)
    await testbed.close()
    return run


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """The `percent`th percentile of values sorted in ascending order."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[int(percent) - 1]
