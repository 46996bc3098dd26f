"""The HTTP fallback, on a built-in broker of its own: the memory an idle Server-Sent
Events subscriber costs the broker, as the idle-WebSocket memory workload measures it.

Each subscriber is what a page's EventSource does once it follows a topic: a GET /sse with
Last-Event-ID, which the broker holds until a message comes or its bounded wait ends, then
the same again on a new connection.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request

from bench.queues import Measure, _stats
from bench.targets import OURS, BuiltinBroker, Target

TOPICS = 100  # as in the idle-WebSocket workload: players of a few games
# The subscribers come from this many loopback addresses (127.0.0.1, .2, ...), as pages
# come from many: the broker holds at most MAX_WAITING_PER_HOST requests of one address.
SOURCES = 20
CONNECT_BATCH = 500
CONNECT_PAUSE_SECONDS = 0.1  # between batches: as pages arrive, not all in one backlog
SETTLE_SECONDS = 1.0
# The subscribers are all held once /stats counts this share of them (the others are between
# two responses, reconnecting).
HELD_SHARE = 0.98
HELD_WAIT_SECONDS = 30.0
# What the workload's name begins with: bench.goals finds its run by it.
IDLE_SSE = "idle SSE subscribers"
TOML = """
[[history]]
pattern = "/topic/bench.#"
max_messages = 10
"""


async def idle_sse_memory(subscribers: int) -> Measure:
    """Broker RSS with `subscribers` idle SSE subscribers, minus RSS before, per subscriber."""
    run = Measure(
        OURS, "sse", f"{IDLE_SSE}, {subscribers:,} over {TOPICS} topics", unit="KiB per subscriber"
    )
    broker = BuiltinBroker(subscribers, toml=TOML, extra_args=("--allow-anonymous",))
    target = broker.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        requests = [_request(target, f"/topic/bench.idle.{n}") for n in range(TOPICS)]
        warmup = [asyncio.create_task(_follow(target, requests[0], 1)) for _ in range(20)]
        await _held(target, 20)
        for task in warmup:
            task.cancel()
        await asyncio.sleep(SETTLE_SECONDS)
        rss_before = target.rss() or 0
        for start in range(0, subscribers, CONNECT_BATCH):
            tasks += [
                asyncio.create_task(_follow(target, requests[n % TOPICS], 1 + n % SOURCES))
                for n in range(start, min(start + CONNECT_BATCH, subscribers))
            ]
            await asyncio.sleep(CONNECT_PAUSE_SECONDS)
        held = await _held(target, subscribers)
        run.value = ((target.rss() or 0) - rss_before) / max(held, 1) / 1024
        if held < subscribers * HELD_SHARE:
            run.dropped.append(f"only {held:,} of {subscribers:,} held by the broker")
    except (OSError, RuntimeError) as error:
        run.failure = str(error)
    finally:
        for task in tasks:
            task.cancel()
        broker.stop()
    return run


def _request(target: Target, destination: str) -> bytes:
    """The request of an EventSource back for what follows the topic's current position."""
    url = f"http://{target.ws.host}:{target.ws.port}/sse?destination={destination}"
    with urllib.request.urlopen(url) as response:
        body = response.read().decode()
    last = next(line for line in body.splitlines() if line.startswith("id: "))[4:]
    return (
        f"GET /sse?destination={destination} HTTP/1.1\r\n"
        f"Host: {target.ws.host}:{target.ws.port}\r\nAccept: text/event-stream\r\n"
        f"Last-Event-ID: {last}\r\n\r\n"
    ).encode()


async def _follow(target: Target, request: bytes, source: int) -> None:
    """One idle subscriber from 127.0.0.`source`: a held request, and another as soon as its
    response ends."""
    while True:
        reader, writer = await asyncio.open_connection(
            target.ws.host, target.ws.port, local_addr=(f"127.0.0.{source}", 0)
        )
        writer.write(request)
        while await reader.read(4096):
            pass
        writer.close()


async def _held(target: Target, subscribers: int) -> int:
    """How many requests the broker holds once nearly all `subscribers` are in (or after
    HELD_WAIT_SECONDS)."""
    deadline = time.monotonic() + HELD_WAIT_SECONDS
    held = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_SECONDS)
        held = _stats(target)["connections"]["sse"]
        if held >= subscribers * HELD_SHARE:
            break
    return held
