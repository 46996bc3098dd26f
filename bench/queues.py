"""Queues, the durable store and heart-beats, each on a built-in broker of its own: idle CPU
with heart-beats, queue throughput to one consumer, and durable (SQLite) enqueue rate by queue
depth.

Each client here is a plain asyncio connection in this process: these workloads need one
publisher and one consumer, or many connections that only exchange heart-beats.
"""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass

from bench.stomp import Frame, FrameParser, connect_frame, encode
from bench.targets import BUILTIN_LOGIN, OURS, BuiltinBroker, Target
from bench.workloads import Run

BODY = b"x" * 200
HEARTBEAT_MS = 10_000  # what the game's pages ask for
IDLE_WINDOW_SECONDS = 10.0  # CPU is measured over this, after every connection is in
QUEUE_MESSAGES = 200_000
DURABLE_BATCH = 500  # SENDs with a receipt each, written at once, before waiting for receipts
DURABLE_MEASURED = 10_000
DURABLE_DEEP = 50_000
# What the workloads' names begin with: bench.goals finds their runs by these.
IDLE_CPU = "idle CPU"
QUEUE = "queue to one consumer"
DURABLE = "durable enqueue at depth"


@dataclass
class Measure(Run):
    """One figure (its goal is in bench.goals)."""

    value: float = 0.0
    unit: str = ""


class _Connection:
    """A STOMP connection over asyncio streams that reads frames in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._parser = FrameParser()
        self._frames: list[Frame] = []

    @classmethod
    async def open(cls, target: Target) -> _Connection:
        reader, writer = await asyncio.open_connection(target.tcp.host, target.tcp.port)
        connection = cls(reader, writer)
        writer.write(connect_frame(BUILTIN_LOGIN, BUILTIN_LOGIN))
        frame = await connection.next_frame()
        if frame.command != b"CONNECTED":
            raise RuntimeError(f"CONNECT refused: {frame.head!r}")
        return connection

    async def frames(self) -> list[Frame]:
        """The frames that are complete, waiting for at least one."""
        while not self._frames:
            data = await self.reader.read(1 << 18)
            if not data:
                raise ConnectionError("the broker closed the connection")
            self._frames = self._parser.feed(data)
        frames, self._frames = self._frames, []
        return frames

    async def next_frame(self) -> Frame:
        frames = await self.frames()
        self._frames = frames[1:]
        return frames[0]

    def close(self) -> None:
        self.writer.close()


def _stats(target: Target) -> dict:
    """/stats, as the bench's user (BuiltinBroker lists it in [http] stats_users)."""
    credentials = base64.b64encode(f"{target.ws.login}:{target.ws.passcode}".encode()).decode()
    request = urllib.request.Request(
        f"http://{target.ws.host}:{target.ws.port}/stats",
        headers={"Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _cpu(target: Target) -> float:
    return target.cpu_seconds() or 0.0


async def idle_heartbeats(connections: int) -> Measure:
    """Broker CPU while `connections` clients only exchange 10 s heart-beats."""
    workload = f"{IDLE_CPU}, {connections:,} connections, 10 s heart-beats"
    run = Measure(OURS, "tcp", workload, unit="% of a core")
    broker = BuiltinBroker(connections, extra_args=("--allow-anonymous",))
    target = broker.start()
    clients: list[asyncio.StreamWriter] = []
    try:
        connect = encode("CONNECT", {"accept-version": "1.2", "heart-beat": "10000,10000"})

        async def one() -> None:
            reader, writer = await asyncio.open_connection(target.tcp.host, target.tcp.port)
            writer.write(connect)
            await reader.readuntil(b"\x00")
            clients.append(writer)
            asyncio.get_running_loop().create_task(_drain(reader))

        beats = asyncio.get_running_loop().create_task(_beat(clients))
        # Connect over one heart-beat interval, as browsers arrive at their own times: the
        # broker's deadlines are spread out, not a few bunches.
        slices = 100
        step = -(-connections // slices)
        for start in range(0, connections, step):
            await asyncio.gather(*(one() for _ in range(start, min(start + step, connections))))
            await asyncio.sleep(HEARTBEAT_MS / 1000 / slices)
        cpu_before, started = _cpu(target), time.monotonic()
        await asyncio.sleep(IDLE_WINDOW_SECONDS)
        run.broker_cpu = _cpu(target) - cpu_before
        run.value = 100 * run.broker_cpu / (time.monotonic() - started)
        beats.cancel()
        alive = _stats(target)["connections"]["total"]
        if alive < connections:
            run.dropped.append(f"{connections - alive:,} of {connections:,} closed by the broker")
    except (OSError, RuntimeError) as error:
        run.failure = str(error)
    finally:
        for writer in clients:
            writer.close()
        broker.stop()
    return run


async def _drain(reader: asyncio.StreamReader) -> None:
    """Read (and forget) the broker's heart-beats, so its output never backs up."""
    while await reader.read(4096):
        pass


async def _beat(clients: list[asyncio.StreamWriter]) -> None:
    """Each client sends a heart-beat every HEARTBEAT_MS, spread evenly over the interval."""
    slices = 100
    while True:
        for index in range(slices):
            for writer in clients[index::slices]:
                writer.write(b"\n")
            await asyncio.sleep(HEARTBEAT_MS / 1000 / slices)


async def queue_throughput() -> Measure:
    """SENDs as fast as the broker takes them to a queue with one auto-ack consumer."""
    run = Measure(OURS, "tcp", f"{QUEUE}, {QUEUE_MESSAGES:,} x 200 B", unit="msg/s")
    broker = BuiltinBroker(16)
    target = broker.start()
    try:
        consumer = await _Connection.open(target)
        consumer.writer.write(
            encode("SUBSCRIBE", {"id": "1", "destination": "/queue/bench", "receipt": "ready"})
        )
        await consumer.next_frame()
        publisher = await _Connection.open(target)
        send = encode("SEND", {"destination": "/queue/bench"}, BODY)
        cpu_before, started = _cpu(target), time.monotonic()

        async def publish() -> None:
            for start in range(0, QUEUE_MESSAGES, 1000):
                publisher.writer.write(send * min(1000, QUEUE_MESSAGES - start))
                await publisher.writer.drain()

        publishing = asyncio.get_running_loop().create_task(publish())
        received = 0
        while received < QUEUE_MESSAGES:
            # Count frame ends, not parsed frames: the consumer must cost less than the broker.
            # Bodies are all "x", so every NUL ends a MESSAGE.
            data = await consumer.reader.read(1 << 18)
            if not data:
                raise ConnectionError("the broker closed the consumer's connection")
            received += data.count(b"\x00")
        await publishing
        seconds = time.monotonic() - started
        run.broker_cpu = _cpu(target) - cpu_before
        run.expected, run.received = QUEUE_MESSAGES, received
        run.value = received / seconds
        stats = _stats(target)
        if stats["slow_consumers_dropped"] or stats["messages_dropped"]:
            run.dropped.append(f"broker stats: {stats}")
        consumer.close()
        publisher.close()
    except (OSError, RuntimeError) as error:
        run.failure = str(error)
    finally:
        broker.stop()
    return run


async def durable_enqueue() -> list[Measure]:
    """Receipted SENDs per second into a SQLite-stored queue, empty and DURABLE_DEEP deep."""
    empty = Measure(OURS, "tcp", f"{DURABLE} 0, {DURABLE_MEASURED:,} SENDs", unit="msg/s")
    deep = Measure(OURS, "tcp", f"{DURABLE} {DURABLE_DEEP:,}", unit="msg/s")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        broker = BuiltinBroker(
            16, toml=f'[store]\nkind = "sqlite"\ndirectory = "{directory}/store"\n'
        )
        target = broker.start()
        try:
            publisher = await _Connection.open(target)
            await _enqueue(target, publisher, "/queue/warm-up", DURABLE_BATCH * 4)
            empty.value, empty.broker_cpu = await _enqueue(
                target, publisher, "/queue/durable", DURABLE_MEASURED
            )
            await _enqueue(target, publisher, "/queue/durable", DURABLE_DEEP - DURABLE_MEASURED)
            deep.value, deep.broker_cpu = await _enqueue(
                target, publisher, "/queue/durable", DURABLE_MEASURED
            )
            publisher.close()
        except (OSError, RuntimeError) as error:
            empty.failure = deep.failure = str(error)
        finally:
            broker.stop()
    return [empty, deep]


async def _enqueue(
    target: Target, publisher: _Connection, destination: str, count: int
) -> tuple[float, float]:
    """Send `count` messages with a receipt each, a batch at a time; messages per second and
    the broker's CPU seconds."""
    cpu_before, started = _cpu(target), time.monotonic()
    for start in range(0, count, DURABLE_BATCH):
        batch = min(DURABLE_BATCH, count - start)
        publisher.writer.write(
            b"".join(
                encode("SEND", {"destination": destination, "receipt": str(n)}, BODY)
                for n in range(batch)
            )
        )
        receipts = 0
        while receipts < batch:
            frames = await publisher.frames()
            if any(f.command == b"ERROR" for f in frames):
                raise RuntimeError(f"ERROR from the broker: {frames[-1].head!r}")
            receipts += sum(f.command == b"RECEIPT" for f in frames)
    return count / (time.monotonic() - started), _cpu(target) - cpu_before
