"""`python -m bench`: options, the order of the runs, progress on stderr, tables on stdout."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace

from bench import goals, report
from bench.games import GameRun, GameShape, play_games, skipped_run
from bench.history import history_and_resume
from bench.http_subscribers import idle_sse_memory
from bench.loadgen import LoadGenerator, new_event_loop, raise_fd_limit
from bench.queues import Measure, durable_enqueue, idle_heartbeats, queue_throughput
from bench.setups import EMBEDDED, SERVICES, SERVICES_HOWTO, Setup, start_embedded, start_services
from bench.stalled import stalled_reader
from bench.targets import OURS, RABBITMQ_HOWTO, BuiltinBroker, Target, find_rabbitmq
from bench.workloads import (
    Latency,
    Memory,
    Run,
    Testbed,
    Throughput,
    fanout,
    idle_memory,
    latency,
)

BROKER_WORKLOADS = ("memory", "fanout", "topics", "latency")
# Each on a built-in broker of its own (see bench/queues.py).
OWN_BROKER_WORKLOADS = ("heartbeats", "queue", "durable", "history", "sse", "stalled")
WORKLOADS = (*BROKER_WORKLOADS, *OWN_BROKER_WORKLOADS, "game")
TRANSPORTS = ("ws", "tcp")


@dataclass(frozen=True)
class Plan:
    """How big each workload is."""

    fanout_subscribers: tuple[int, ...]
    fanout_seconds: float  # publishing time of each fan-out run
    topics: int
    subscribers_per_topic: int
    latency_subscribers: int
    latency_rounds: int
    idle_connections: int
    heartbeat_connections: int  # idle, with 10 s heart-beats
    games: tuple[GameShape, ...]


# Big games as players meet them: the shortest time limits authors pick, everyone answering
# while the clock runs; Kahoot's largest game (2,000 players) after a minute in the lobby; ten
# games whose hosts each press on their own timetable; then a flood, to see how many answers
# a second the site sustains.
BURST = GameShape("burst", 1, 1000, 2, 5, (0.5, 3.0))
KAHOOT = GameShape("kahoot", 1, 2000, 2, 5, (0.5, 3.0), idle_seconds=60)
MANY_GAMES = GameShape("many", 10, 100, 2, 5, (0.5, 3.0))
APART = GameShape("apart", 10, 100, 2, 5, (0.5, 3.0), in_step=False)
FLOOD = GameShape("flood", 1, 1000, 1, 5, (0.0, 1.0))
GAME_SHAPES = {shape.name: shape for shape in (BURST, KAHOOT, MANY_GAMES, APART, FLOOD)}
FULL = Plan(
    (10, 100, 500, 1000), 2.0, 100, 10, 1000, 50, 10_000, 10_000, tuple(GAME_SHAPES.values())
)
QUICK = Plan(
    (10, 100), 0.5, 10, 10, 100, 20, 1_000, 1_000, (GameShape("quick", 1, 50, 2, 5, (0.5, 3.0)),)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Fan-out throughput, broadcast latency and idle-connection memory of the "
        "built-in broker (started here on free ports) over WebSocket and TCP, side by side "
        "with a RabbitMQ (STOMP + Web-STOMP plugins) when one is reachable; its CPU with idle "
        "heart-beats, queue throughput and durable enqueue rate, each on a built-in broker of "
        "its own (workloads heartbeats, queue, durable); and whole games "
        "(workload game: players join over HTTP, get each question over WebSocket and "
        "answer) on the embedded defaults and on RabbitMQ + PostgreSQL + gunicorn. Tables go "
        "to stdout, progress to stderr; the exit code is 1 when the built-in broker failed or "
        "lost a message, or a game on the embedded defaults failed or lost anything.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run (about a minute and a half): fan-out to "
        f"{' and '.join(map(str, QUICK.fanout_subscribers))} subscribers of one topic and to "
        f"{QUICK.topics} topics x {QUICK.subscribers_per_topic}, {QUICK.fanout_seconds:g} s "
        f"each; latency to {QUICK.latency_subscribers} subscribers, {QUICK.latency_rounds} "
        f"messages; {QUICK.idle_connections:,} idle connections, and "
        f"{QUICK.heartbeat_connections:,} with heart-beats; queue and durable as in a full "
        f"run; one game per setup ({QUICK.games[0]})",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        choices=WORKLOADS,
        help=f"run only this workload; repeatable; one of {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--game",
        metavar="SHAPE",
        action="append",
        choices=GAME_SHAPES,
        help="whole games of this shape only; repeatable; burst: 1 x 1000 players, 2 questions "
        "of 5 s, answers 0.5-3 s after each question's answers show; kahoot: 1 x 2000, the "
        "same, after 60 s in the lobby; many: 10 games x 100 at once, the same, the hosts in "
        "step; apart: the same 10 x 100, each host pressing on its own timetable; flood: "
        "1 x 1000, answers 0-1 s after the question (default: all five)",
    )
    parser.add_argument(
        "--transport",
        action="append",
        choices=TRANSPORTS,
        help="run only over this transport; repeatable (default: both)",
    )
    parser.add_argument(
        "--rabbitmq-stomp",
        metavar="HOST:PORT",
        default="127.0.0.1:61613",
        help="RabbitMQ's STOMP listener (default: %(default)s)",
    )
    parser.add_argument(
        "--rabbitmq-ws",
        metavar="URL",
        default="ws://127.0.0.1:15674/ws",
        help="RabbitMQ's Web-STOMP endpoint (default: %(default)s)",
    )
    parser.add_argument(
        "--rabbitmq-user",
        metavar="LOGIN:PASSCODE",
        default="guest:guest",
        help="RabbitMQ credentials (default: %(default)s)",
    )
    parser.add_argument(
        "--no-rabbitmq",
        action="store_true",
        help="do not look for RabbitMQ (nor run whole games on RabbitMQ + PostgreSQL)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgres://quiz:quiz@127.0.0.1:5432/quiz",
        help="a PostgreSQL database whose user may create databases: whole games on "
        "RabbitMQ + PostgreSQL each get a fresh one beside it (default: %(default)s)",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=4,
        metavar="N",
        help="gunicorn workers serving whole games on RabbitMQ + PostgreSQL (default: %(default)s)",
    )
    parser.add_argument(
        "--ws-deflate",
        action="store_true",
        help="offer permessage-deflate in the WebSocket handshake, as browsers do (default: off)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        metavar="N",
        help="load generator processes holding the subscribers (default: %(default)s)",
    )
    return parser


class Progress:
    """Timestamped lines on stderr."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self._started:6.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.workers < 1:
        print("python -m bench: error: --workers must be at least 1", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    if args.game:
        plan = replace(plan, games=tuple(GAME_SHAPES[name] for name in dict.fromkeys(args.game)))
    raise_fd_limit(max(plan.idle_connections, plan.heartbeat_connections) + 1024)
    # Fork the workers before any event loop exists.
    loadgen = LoadGenerator(args.workers, connections=plan.idle_connections)
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_bench(args, plan, loadgen))
    except KeyboardInterrupt:
        return 130
    finally:
        loop.close()
        loadgen.stop()


async def _bench(args: argparse.Namespace, plan: Plan, loadgen: LoadGenerator) -> int:
    workloads = args.only or list(WORKLOADS)
    progress = Progress()
    runs: list[Run] = []
    preamble: list[str] = []
    healthy = True
    if any(workload in BROKER_WORKLOADS for workload in workloads):
        healthy = await _bench_brokers(args, plan, loadgen, workloads, progress, runs, preamble)
    if own := [workload for workload in workloads if workload in OWN_BROKER_WORKLOADS]:
        healthy &= await _bench_own_brokers(plan, own, progress, runs)
    if "game" in workloads:
        healthy &= await _bench_games(args, plan, loadgen, progress, runs, preamble)
    games = any(isinstance(run, GameRun) for run in runs)
    brokers = any(not isinstance(run, GameRun) for run in runs)
    title = "Broker and whole-game" if games and brokers else "Whole-game" if games else "Broker"
    title += " benchmark" + (" (--quick)" if args.quick else "")
    print(report.document(title, preamble, runs))
    for line in report.problems(runs):
        progress(line)
    return 0 if healthy else 1


async def _bench_brokers(
    args: argparse.Namespace,
    plan: Plan,
    loadgen: LoadGenerator,
    workloads: list[str],
    progress: Progress,
    runs: list[Run],
    preamble: list[str],
) -> bool:
    """The broker workloads; False when the built-in broker failed or lost a message."""
    transports = args.transport or list(TRANSPORTS)
    builtin = BuiltinBroker(connections=plan.idle_connections, deflate=args.ws_deflate)
    targets: list[Target] = []
    notes: list[str] = []
    progress("starting the built-in broker")
    try:
        targets.append(builtin.start())
        notes.append(f"ours: `{' '.join(['python', *builtin.command[1:]])}`")
    except RuntimeError as error:
        progress(f"FAILED: {error}")
        notes.append(f"ours: FAILED to start: {error}")
    try:
        if not args.no_rabbitmq:
            login, _, passcode = args.rabbitmq_user.partition(":")
            peer, why_not = await find_rabbitmq(
                args.rabbitmq_stomp, args.rabbitmq_ws, login, passcode, deflate=args.ws_deflate
            )
            if peer is None:
                progress(f"{why_not}; comparing nothing (to compare: {RABBITMQ_HOWTO})")
                notes.append(f"RabbitMQ: not compared ({why_not}). To compare: `{RABBITMQ_HOWTO}`")
            else:
                targets.append(peer)
                where = f"pid {peer.process.pid}" if peer.process else "not local: no CPU/RSS"
                notes.append(
                    f"RabbitMQ: {peer.server or 'unknown version'} at {peer.tcp} and {peer.ws} "
                    f"({where})"
                )
        broker_runs = await _run_all(plan, workloads, transports, targets, loadgen, progress)
    finally:
        builtin.stop()
    runs += broker_runs
    preamble += [
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}. Load generator: {loadgen.workers} processes "
        "holding the subscribers, and this one publishing. 200-byte messages. WebSocket "
        f"clients {'offer' if args.ws_deflate else 'do not offer'} permessage-deflate.",
        "",
        *(f"- {note}" for note in notes),
    ]
    started = any(target.name == OURS for target in targets)
    ours = [run for run in broker_runs if run.target == OURS]
    return started and not any(run.failure or run.lost or run.dropped for run in ours)


async def _bench_own_brokers(
    plan: Plan, workloads: list[str], progress: Progress, runs: list[Run]
) -> bool:
    """The queue, durable, heart-beat, history, SSE and stalled-reader workloads, each on a
    fresh built-in
    broker; False when one failed or lost."""
    ran: list[Run] = []
    if "heartbeats" in workloads:
        progress(f"ours tcp idle CPU, {plan.heartbeat_connections:,} connections ...")
        ran.append(await idle_heartbeats(plan.heartbeat_connections))
    if "queue" in workloads:
        progress("ours tcp queue to one consumer ...")
        ran.append(await queue_throughput())
    if "durable" in workloads:
        progress("ours tcp durable enqueue at depth 0 and deep ...")
        ran += await durable_enqueue()
    if "history" in workloads:
        progress("ours tcp history replay and resume after a drop ...")
        ran += await history_and_resume()
    if "sse" in workloads:
        progress(f"ours sse idle memory, {plan.idle_connections:,} subscribers ...")
        ran.append(await idle_sse_memory(plan.idle_connections))
    if "stalled" in workloads:
        progress("ours tcp one reader that never reads, none and one ...")
        ran += await stalled_reader()
    for run in ran:
        progress(f"ours {run.transport} {run.workload}: {_summary(run, ran)}")
    runs += ran
    return not any(run.failure or run.lost or run.dropped for run in ran)


async def _bench_games(
    args: argparse.Namespace,
    plan: Plan,
    loadgen: LoadGenerator,
    progress: Progress,
    runs: list[Run],
    preamble: list[str],
) -> bool:
    """Whole games on each setup; False when the embedded one failed or lost anything."""
    notes = []
    game_runs: list[GameRun] = []
    for name in (EMBEDDED, SERVICES):
        setup: Setup | None = None
        why_not = ""
        progress(f"starting the site: {name}")
        try:
            if name == SERVICES:
                if args.no_rabbitmq:
                    why_not = "--no-rabbitmq"
                else:
                    setup, why_not = await start_services(
                        postgres_url=args.postgres,
                        rabbitmq_stomp=args.rabbitmq_stomp,
                        rabbitmq_ws=args.rabbitmq_ws,
                        web_workers=args.web_workers,
                    )
            else:
                setup = start_embedded()
        except RuntimeError as error:
            why_not = f"FAILED to start: {error}"
        if setup is None:
            progress(f"{name}: skipped ({why_not})")
            notes.append(f"{name}: skipped ({why_not}); to run it: `{SERVICES_HOWTO}`")
            game_runs += [skipped_run(name, shape, why_not) for shape in plan.games]
            continue
        notes.append(f"{name}: {setup.description}")
        ran: list[GameRun] = []
        try:
            for shape in plan.games:
                label = f"{name} {shape}"
                progress(f"{label} ...")
                run = await play_games(setup, loadgen, shape)
                ran.append(run)
                progress(f"{label}: {_summary(run, ran)}")
        finally:
            troubled = any(run.failure or run.http_errors or run.frames_missing for run in ran)
            logs = setup.stop(keep_logs=troubled)
            if logs:
                notes.append(f"{name}: the servers' logs are kept in {logs}")
            game_runs += ran
    runs += game_runs
    if preamble:
        preamble.append("")
    preamble += [
        f"Whole games: {os.cpu_count()} cores; {loadgen.workers} load generator processes "
        f"hold the players (each its own HTTP connection, cookie session and WebSocket with "
        f"10 s heart-beats, as play.html), and this one the host. A player answers after its "
        f"think time (the shape's), and sends that as the reaction time its page measured.",
        "",
        *(f"- {note}" for note in notes),
    ]
    embedded = [run for run in game_runs if run.target == EMBEDDED]
    return not any(
        run.failure or run.lost or run.frames_missing or run.http_errors or run.dropped
        for run in embedded
    )


async def _run_all(
    plan: Plan,
    workloads: list[str],
    transports: list[str],
    targets: list[Target],
    loadgen: LoadGenerator,
    progress: Progress,
) -> list[Run]:
    """Each broker in turn, one pool of subscriber connections per transport.

    Memory is measured on the built-in broker first, before anything else has run in it, and
    on RabbitMQ last, so that its slow teardown of thousands of connections delays nothing.
    """
    runs: list[Run] = []

    async def one(testbed: Testbed, label: str, work: Awaitable[Run]) -> None:
        label = f"{testbed.target.name} {testbed.transport} {label}"
        progress(f"{label} ...")
        run = await work
        runs.append(run)
        progress(f"{label}: {_summary(run, runs)}")

    async def memory(target: Target) -> None:
        if "memory" in workloads and "ws" in transports:
            testbed = Testbed(loadgen, target, "ws")
            await one(
                testbed,
                f"{plan.idle_connections:,} idle connections",
                idle_memory(testbed, connections=plan.idle_connections),
            )

    shapes: list[tuple[int, int]] = []
    if "fanout" in workloads:
        shapes += [(1, subscribers) for subscribers in plan.fanout_subscribers]
    if "topics" in workloads:
        shapes.append((plan.topics, plan.subscribers_per_topic))
    for target in targets:
        if target.name == OURS:
            await memory(target)
        for transport in transports:
            testbed = Testbed(loadgen, target, transport)
            for topics, per_topic in shapes:
                await one(
                    testbed,
                    f"fan-out {topics} topic(s) x {per_topic}",
                    fanout(
                        testbed,
                        topics=topics,
                        subscribers_per_topic=per_topic,
                        seconds=plan.fanout_seconds,
                    ),
                )
            if "fanout" in workloads and target.name == OURS:
                for subscribers in plan.fanout_subscribers:
                    await one(
                        testbed,
                        f"fan-out 1 topic(s) x {subscribers} with presence on",
                        fanout(
                            testbed,
                            topics=1,
                            subscribers_per_topic=subscribers,
                            seconds=plan.fanout_seconds,
                            presence=True,
                        ),
                    )
            if "latency" in workloads:
                await one(
                    testbed,
                    f"broadcast latency to {plan.latency_subscribers}",
                    latency(
                        testbed,
                        subscribers=plan.latency_subscribers,
                        rounds=plan.latency_rounds,
                    ),
                )
            await testbed.close()
        if target.name != OURS:
            await memory(target)
    return runs


def _summary(run: Run, runs: Sequence[Run]) -> str:
    """One line of progress on a run just made (`runs`: those it may be compared with)."""
    if run.failure:
        return f"FAILED: {run.failure}"
    if isinstance(run, GameRun):
        refused = ", ".join(f"{code} x{n}" for code, n in run.refused.most_common(3))
        return (
            f"joins {run.joins_per_second:,.0f}/s; "
            f"question to player p50 {run.p50_ms:.0f} ms, p99 {run.p99_ms:.0f} ms, "
            f"max {run.max_ms:.0f} ms, spread {run.spread_ms:.0f} ms; "
            f"answers {run.answers:,} of {run.answers_sent:,} accepted"
            f"{f' (refused: {refused})' if refused else ''}, request p50 "
            f"{run.answer_p50_ms:.0f} ms p99 {run.answer_p99_ms:.0f} ms, "
            f"{run.answers_per_second:,.0f} answers/s, lost {run.lost}, "
            f"frames missing {run.frames_missing}, HTTP errors {len(run.http_errors)}; "
            f"CPU s: site {run.site_cpu or 0:.1f} "
            f"({' / '.join(f'{seconds:.1f}' for seconds in run.site_cpu_by_process)}), "
            f"broker {run.broker_cpu or 0:.1f}, "
            f"db {run.db_cpu or 0:.1f}, load gen {run.loadgen_cpu or 0:.1f}, "
            f"other {run.other_cpu or 0:.1f}"
        )
    if isinstance(run, Throughput):
        text = f"{run.per_second:,.0f} deliveries/s in {run.seconds:.1f} s"
    elif isinstance(run, Latency):
        text = (
            f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
            f"spread p50 {run.spread_p50_ms:.1f} ms"
        )
    elif isinstance(run, Memory):
        text = f"{run.bytes_per_connection / 1024:.1f} KiB per connection"
    elif isinstance(run, Measure):
        text = f"{run.value:,.1f} {run.unit}" + "".join(
            f" (goal {verdict.goal.text}: {'met' if verdict.met else 'NOT met'})"
            for verdict in goals.verdicts_on(run, runs)
        )
    else:
        text = ""
    cpu = (
        f"CPU s: broker {run.broker_cpu or 0:.1f}, load gen {run.loadgen_cpu or 0:.1f}, "
        f"other {run.other_cpu or 0:.1f}"
    )
    if run.lost:
        lost = f"{'LOST' if run.lost > 0 else 'EXTRA'} {abs(run.lost):,} of {run.expected:,}"
    else:
        lost = "lost 0"
    dropped = f", DROPPED {len(run.dropped)} connections" if run.dropped else ""
    return f"{text}, {lost}{dropped}, {cpu}"
