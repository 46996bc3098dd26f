"""The load generator: subscriber connections spread over worker processes.

Each worker runs one event loop (uvloop where installed) with a pool of `StompClient`s and
obeys commands sent over a pipe. A run subscribes part of the pool to its destinations and
unsubscribes them when collected, so connections are opened once per broker and transport,
not once per run. Deliveries are counted per worker in shared memory, so the publisher in
the main process can pace itself on what the subscribers actually received.

For whole games a worker holds simulated players instead (`bench.players`): JoinPlayers
makes them join and subscribe, they play on their own, and CollectPlayers reports.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import psutil

from bench.clients import ConnectionFailed, Endpoint, StompClient, open_client
from bench.players import CollectPlayers, JoinPlayers, Players
from bench.stomp import Frame

HANDSHAKES_IN_FLIGHT = 25  # per worker; four workers stay under the broker's listen backlog
CONNECT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Subscribe:
    """Subscribe one pooled connection per destination (opening more as needed).

    `record_latency` parses each MESSAGE for the send time in its body; otherwise MESSAGEs
    are only counted. `announce` asks the broker to announce each subscriber (presence).
    """

    endpoint: Endpoint
    destinations: list[str]
    record_latency: bool = False
    announce: bool = False


@dataclass(frozen=True)
class Collect:
    """Report what was received since Subscribe, then unsubscribe."""


@dataclass(frozen=True)
class Disconnect:
    """Close every connection in the pool."""


@dataclass(frozen=True)
class WorkerError:
    message: str


@dataclass
class Received:
    """What the subscribers of one worker (or of all, once merged) received."""

    deliveries: int = 0
    delays_ns: array = field(default_factory=lambda: array("q"))
    first_ns_by_seq: dict[int, int] = field(default_factory=dict)
    last_ns_by_seq: dict[int, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def merge(self, other: Received) -> None:
        self.deliveries += other.deliveries
        self.delays_ns.extend(other.delays_ns)
        for seq, ns in other.first_ns_by_seq.items():
            self.first_ns_by_seq[seq] = min(ns, self.first_ns_by_seq.get(seq, ns))
        for seq, ns in other.last_ns_by_seq.items():
            self.last_ns_by_seq[seq] = max(ns, self.last_ns_by_seq.get(seq, ns))
        self.dropped += other.dropped


def raise_fd_limit(wanted: int) -> None:
    """Room for `wanted` open files: up to the hard limit, or past it when allowed (root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(wanted, hard)), hard))


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Worker:
    """The inside of one worker process."""

    def __init__(self, index: int, pipe: Connection, progress: Any) -> None:
        self._index = index
        self._pipe = pipe
        self._progress = progress
        self._endpoint: Endpoint | None = None
        self._pool: list[StompClient] = []
        self._active: list[tuple[StompClient, str]] = []  # (client, subscription id)
        self._ids = itertools.count()
        self._received = Received()
        self._players: Players | None = None

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[object] = asyncio.Queue()

        def read_command() -> None:
            try:
                commands.put_nowait(self._pipe.recv())
            except EOFError:  # the main process is gone
                loop.remove_reader(self._pipe.fileno())
                commands.put_nowait(None)

        _add_blocking_reader(loop, self._pipe, read_command)
        while True:
            command = await commands.get()
            if command is None:
                break
            try:
                reply = await self._obey(command)
            except Exception as error:  # the main process reports it and stops
                reply = WorkerError(f"bench-worker-{self._index}: {error!r}")
            self._pipe.send(reply)
        self._close_all()

    async def _obey(self, command: object) -> object:
        if isinstance(command, Subscribe):
            return await self._subscribe(command)
        if isinstance(command, Collect):
            return self._collect()
        if isinstance(command, Disconnect):
            self._close_all()
            await asyncio.sleep(0.05)
            return None
        if isinstance(command, JoinPlayers):
            self._players = Players(command, self._progress)
            return await self._players.join()
        if isinstance(command, CollectPlayers):
            if self._players is None:
                raise RuntimeError("CollectPlayers before JoinPlayers")
            players, self._players = self._players, None
            return await players.collect()
        raise TypeError(f"unknown command {command!r}")

    async def _subscribe(self, command: Subscribe) -> list[str]:
        """Why subscribers could not connect or subscribe: nothing when all did."""
        if command.endpoint != self._endpoint:
            self._close_all()
            self._endpoint = command.endpoint
        self._pool = [client for client in self._pool if not client.closed.done()]
        gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        failures: list[str] = []

        async def add_client() -> None:
            async with gate:
                try:
                    client = await asyncio.wait_for(
                        open_client(command.endpoint, self._progress), CONNECT_TIMEOUT
                    )
                except (OSError, ConnectionFailed, TimeoutError) as error:
                    failures.append(str(error) or type(error).__name__)
                else:
                    self._pool.append(client)

        missing = len(command.destinations) - len(self._pool)
        await asyncio.gather(*(add_client() for _ in range(missing)))
        if failures:
            return failures

        async def subscribe(client: StompClient, destination: str, subscription: str) -> None:
            async with gate:
                try:
                    await asyncio.wait_for(
                        client.subscribe(destination, subscription, announce=command.announce),
                        CONNECT_TIMEOUT,
                    )
                except (ConnectionFailed, TimeoutError) as error:
                    failures.append(str(error) or type(error).__name__)

        self._active = [(client, f"s{next(self._ids)}") for client in self._pool]
        self._active = self._active[: len(command.destinations)]
        await asyncio.gather(
            *(
                subscribe(client, destination, subscription)
                for (client, subscription), destination in zip(
                    self._active, command.destinations, strict=True
                )
            )
        )
        self._received = Received()
        self._progress.value = 0
        on_message = self._on_message if command.record_latency else None
        for client, _ in self._active:
            client.fast(on_message)
        return failures

    def _collect(self) -> Received:
        received = self._received
        received.deliveries = self._progress.value
        for client, subscription in self._active:
            if client.closed.done():
                received.dropped.append(client.error or "connection closed")
            elif client.slow():
                client.unsubscribe(subscription)
            else:
                client.close()
        self._active = []
        self._pool = [client for client in self._pool if not client.closed.done()]
        return received

    def _on_message(self, client: StompClient, frame: Frame, now: int) -> None:
        """Latency runs only: when each subscriber got each message."""
        received = self._received
        seq_text, sent_text, _ = frame.body.split(b" ", 2)
        seq = int(seq_text)
        received.delays_ns.append(now - int(sent_text))
        received.first_ns_by_seq.setdefault(seq, now)
        received.last_ns_by_seq[seq] = now

    def _close_all(self) -> None:
        for client in self._pool:
            client.close()
        self._pool = []
        self._active = []


def _add_blocking_reader(
    loop: asyncio.AbstractEventLoop, pipe: Connection, callback: Callable[[], object]
) -> None:
    """add_reader() leaves the fd non-blocking (uvloop does), which breaks large pipe messages
    into partial writes; put it back: we only read once it is readable anyway."""
    loop.add_reader(pipe.fileno(), callback)
    os.set_blocking(pipe.fileno(), True)


def _worker_main(index: int, pipe: Connection, progress: Any, connections: int) -> None:
    raise_fd_limit(connections + 256)
    loop = new_event_loop()
    try:
        loop.run_until_complete(Worker(index, pipe, progress).serve())
    finally:
        loop.close()


class LoadGenerator:
    """The worker processes, seen from the main process."""

    def __init__(self, workers: int, connections: int) -> None:
        """`workers` processes, with room for `connections` subscribers among them."""
        context = multiprocessing.get_context("fork")
        self._progress: list[Any] = []  # multiprocessing.Value("q")
        self._pipes: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for index in range(workers):
            parent, child = context.Pipe()
            progress = context.Value("q", 0, lock=False)
            process = context.Process(
                target=_worker_main,
                args=(index, child, progress, connections // workers + 1),
                name=f"bench-worker-{index}",
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._progress.append(progress)
            self._processes.append(process)
        self._ps = [psutil.Process(process.pid) for process in self._processes]
        self._ps.append(psutil.Process(os.getpid()))

    @property
    def workers(self) -> int:
        return len(self._processes)

    def delivered(self) -> int:
        """Deliveries counted so far, over every worker (cheap: shared memory)."""
        return sum(progress.value for progress in self._progress)

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers and of this process (the publisher)."""
        return sum(sum(process.cpu_times()[:2]) for process in self._ps)

    async def subscribe(
        self,
        endpoint: Endpoint,
        destinations: list[str],
        *,
        record_latency: bool = False,
        announce: bool = False,
    ) -> list[str]:
        """Subscriber i goes to worker i mod workers; returns once all are subscribed, with
        the reasons of those that could not (nothing when all could).

        Every worker keeps its connections to `endpoint` for the next call.
        """
        shares = [destinations[index :: self.workers] for index in range(self.workers)]
        replies = await self.ask(
            [Subscribe(endpoint, share, record_latency, announce) for share in shares]
        )
        return [failure for failures in replies for failure in failures]

    async def collect(self) -> Received:
        """What the subscribers got since subscribe(); they unsubscribe and stay connected."""
        total = Received()
        for reply in await self.ask([Collect()] * self.workers):
            total.merge(reply)
        return total

    async def disconnect(self) -> None:
        """Close every worker's connections."""
        await self.ask([Disconnect()] * self.workers)

    def stop(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for process in self._processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()

    async def ask(self, commands: list[object]) -> list[Any]:
        """Send one command to each worker (in order) and wait for every answer without
        blocking the loop; a worker's exception is raised here as RuntimeError."""
        loop = asyncio.get_running_loop()
        for pipe, command in zip(self._pipes, commands, strict=True):
            pipe.send(command)
        replies: list[Any] = []
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            while not pipe.poll():
                if not process.is_alive():
                    raise RuntimeError(f"{process.name} died (exit code {process.exitcode})")
                waiter = loop.create_future()
                _add_blocking_reader(loop, pipe, lambda w=waiter: w.done() or w.set_result(None))
                try:
                    await asyncio.wait_for(waiter, 1.0)
                except TimeoutError:
                    pass
                finally:
                    loop.remove_reader(pipe.fileno())
            try:
                reply = pipe.recv()
            except EOFError:
                raise RuntimeError(f"{process.name} died (exit code {process.exitcode})") from None
            if isinstance(reply, WorkerError):
                raise RuntimeError(reply.message)
            replies.append(reply)
        return replies
