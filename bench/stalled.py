"""One reader that never reads, among 1,000 subscribers of 10 topics, on a built-in broker of
its own: the others' delivery p99, next to the same run without it. The stalled reader follows
every topic (a wildcard), one of them a bulk topic nobody else reads, so that its socket backs
up within a few seconds whatever the kernel buffers take (up to 4 MiB on Linux).

The site publishes every game over one connection, a round of SENDs at a time; a phone that
stops reading must cost the other games nothing (it once paused the
publisher until the broker cut it, 5 s later).
"""

from __future__ import annotations

import asyncio
import socket
import time

from bench.clients import StompClient, open_client
from bench.queues import Measure, _cpu, _stats
from bench.stomp import Frame, connect_frame, encode
from bench.targets import BUILTIN_LOGIN, OURS, BuiltinBroker, Target
from bench.workloads import percentile

SUBSCRIBERS = 1_000
TOPICS = 10
# A round of one SEND to each topic, in one write, every ROUND_SECONDS: longer in all than
# the broker's slow_consumer_grace_seconds (5 s), so a stalled reader is cut during the run.
ROUNDS = 160
ROUND_SECONDS = 0.05
BODY_BYTES = 2048
BULK_BYTES = 60_000  # a SEND to the bulk topic in each round
SETTLE_SECONDS = 2.0  # after the last round, for deliveries still on their way
# Small output limits, so that the stalled reader's socket fills within a few rounds.
LIMITS = {
    "max_frame_bytes": 65536,
    "output_high_water_bytes": 65536,
    "max_output_buffer_bytes": 1048576,
}
# What the workload's name begins with: bench.goals finds its runs by it.
STALLED = "one reader that never reads"
NONE_STALLED = f"{STALLED}: none"
ONE_STALLED = f"{STALLED}: one"


def _body(sent_ns: int) -> bytes:
    return (b"%d " % sent_ns).ljust(BODY_BYTES, b"x")


async def stalled_reader() -> list[Measure]:
    """The readers' delivery p99 without a stalled reader, then with one."""
    runs = []
    for stalled in (False, True):
        name = ONE_STALLED if stalled else NONE_STALLED
        shape = f"{SUBSCRIBERS:,} subscribers of {TOPICS} topics, others' delivery p99"
        runs.append(await _run(Measure(OURS, "tcp", f"{name}, {shape}", unit="ms"), stalled))
    return runs


async def _run(run: Measure, stalled: bool) -> Measure:
    broker = BuiltinBroker(SUBSCRIBERS + 16, limits=LIMITS)
    target = broker.start()
    readers: list[StompClient] = []
    delays: list[int] = []
    silent: socket.socket | None = None

    def record(client: StompClient, frame: Frame, now_ns: int) -> None:
        delays.append(now_ns - int(frame.body.split(b" ", 1)[0]))

    try:
        names = [f"/topic/bench.stalled.{n}" for n in range(TOPICS)]
        if stalled:
            silent = await _silent_subscriber(target, "/topic/bench.stalled.*")
        for index in range(SUBSCRIBERS - stalled):
            reader = await open_client(target.tcp)
            await reader.subscribe(names[index % TOPICS], "1")
            reader.on_message = record
            readers.append(reader)
        publisher = await open_client(target.tcp)
        bulk = encode("SEND", {"destination": "/topic/bench.stalled.bulk"}, b"x" * BULK_BYTES)
        cpu_before = _cpu(target)
        for _ in range(ROUNDS):
            sent = _body(time.perf_counter_ns())
            sends = [encode("SEND", {"destination": name}, sent) for name in names]
            publisher.send_many([*sends, bulk])
            await asyncio.sleep(ROUND_SECONDS)
        await asyncio.sleep(SETTLE_SECONDS)
        run.broker_cpu = _cpu(target) - cpu_before
        run.expected = ROUNDS * len(readers)
        run.received = len(delays)
        cut = _stats(target)["slow_consumers_dropped"]
        if cut != stalled:
            run.failure = f"{cut} slow consumers cut, expected {int(stalled)}"
        if delays:
            run.value = percentile(sorted(delays), 99) / 1e6
        if failed := [reader.error for reader in readers if reader.error]:
            run.dropped.append(f"{len(failed)} readers closed, first: {failed[0]}")
        if publisher.error:
            run.failure = f"publisher: {publisher.error}"
        publisher.close()
    except (OSError, RuntimeError) as error:
        run.failure = str(error)
    finally:
        for reader in readers:
            reader.close()
        if silent is not None:
            silent.close()
        broker.stop()
    return run


async def _silent_subscriber(target: Target, destination: str) -> socket.socket:
    """A subscriber of `destination` that reads nothing after its RECEIPT, through a 4 KiB
    receive buffer: the broker's socket to it backs up at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (target.tcp.host, target.tcp.port))
    subscribe = {"id": "1", "destination": destination, "receipt": "ready"}
    await loop.sock_sendall(sock, connect_frame(BUILTIN_LOGIN, BUILTIN_LOGIN))
    await loop.sock_sendall(sock, encode("SUBSCRIBE", subscribe))
    answered = b""
    while b"receipt-id:ready" not in answered:
        data = await loop.sock_recv(sock, 4096)
        if not data:
            raise RuntimeError(f"the broker closed the silent subscriber: {answered!r}")
        answered += data
    return sock
