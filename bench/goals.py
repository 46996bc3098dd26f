"""Every goal the bench checks, declared once: the group it is reported in, which runs it is judged
on, the figure measured on each and the bar that figure must clear.

report.py renders the goal tables from `GOALS` and nothing else decides whether a goal is
met: a new goal, or a new bar, is one entry here.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.games import GameRun
from bench.history import REPLAY, RESUME
from bench.http_subscribers import IDLE_SSE
from bench.queues import DURABLE, IDLE_CPU, QUEUE, Measure
from bench.stalled import NONE_STALLED, ONE_STALLED
from bench.targets import OURS, PEER
from bench.workloads import Latency, Memory, Run, Throughput

# The goal tables, each named by what its goals measure.
BROKER = "the broker against RabbitMQ: fan-out, latency, memory"
QUEUES = "queues, the durable store and idle heart-beats"
HISTORY = "history, resume and idle SSE subscribers"
FLOW = "flow control: a reader that never reads"
GAMES = "whole games"
GROUPS = (BROKER, QUEUES, HISTORY, FLOW, GAMES)

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Goal:
    """One goal: on every run it applies to, `measure(run, runs)` must clear `bar`.

    A run it applies to is of `kind`, of `target` (any when None), and has a workload that
    the regular expression `workload` finds. `measure` sees every run, for goals that compare
    two; when it returns None there is nothing to compare with and the run is not judged.
    """

    group: str  # one of GROUPS: the goal table it is reported in
    text: str
    kind: type[Run]
    measure: Callable[[Any, Sequence[Run]], float | None]
    bar: tuple[str, float]  # (one of COMPARISONS, threshold): ("<", 50) is "under 50"
    shown: Callable[[Any, float], str]  # what the table says was measured
    workload: str = ""
    target: str | None = None
    lossless: bool = False  # and the run lost, duplicated and dropped nothing
    total: bool = False  # one verdict on the sum over its runs (failed ones left out)

    def applies(self, run: Run) -> bool:
        return (
            isinstance(run, self.kind)
            and (self.target is None or run.target == self.target)
            and re.search(self.workload, run.workload) is not None
        )

    def clears(self, figure: float) -> bool:
        comparison, threshold = self.bar
        return COMPARISONS[comparison](figure, threshold)


@dataclass(frozen=True)
class Verdict:
    """A goal judged on one run, or on the total of its runs (`run` None)."""

    goal: Goal
    run: Run | None
    measured: str
    met: bool | None  # None: the run was skipped, so nothing was judged


def judge(goal: Goal, runs: Sequence[Run]) -> list[Verdict]:
    """The goal on each run it applies to, in the runs' order; a failed run misses it."""
    judged = [run for run in runs if goal.applies(run)]
    if goal.total:
        total = sum(goal.measure(run, runs) or 0 for run in judged if not run.failure)
        return [Verdict(goal, None, goal.shown(None, total), goal.clears(total))]
    verdicts = []
    for run in judged:
        if run.skipped:
            verdicts.append(Verdict(goal, run, f"skipped: {run.skipped}", None))
        elif run.failure:
            verdicts.append(Verdict(goal, run, f"failed: {run.failure}", False))
        elif (figure := goal.measure(run, runs)) is not None:
            met = goal.clears(figure) and not (goal.lossless and (run.lost or run.dropped))
            verdicts.append(Verdict(goal, run, goal.shown(run, figure), met))
    return verdicts


def verdicts(group: str, runs: Sequence[Run]) -> list[Verdict]:
    """Every goal of `group` judged, goal by goal."""
    return [verdict for goal in GOALS if goal.group == group for verdict in judge(goal, runs)]


def verdicts_on(run: Run, runs: Sequence[Run]) -> list[Verdict]:
    """Every goal judged on this one run (`runs`: those it may be compared with)."""
    return [verdict for goal in GOALS for verdict in judge(goal, runs) if verdict.run is run]


def _times_rabbitmq(run: Throughput, runs: Sequence[Run]) -> float | None:
    """Ours / RabbitMQ deliveries per second on the same workload and transport."""
    peers = [
        other
        for other in runs
        if isinstance(other, Throughput)
        and (other.target, other.transport, other.workload) == (PEER, run.transport, run.workload)
    ]
    if not peers or peers[-1].failure or not peers[-1].per_second:
        return None
    return run.per_second / peers[-1].per_second


def _empty_over_deep(run: Measure, runs: Sequence[Run]) -> float | None:
    """How many times as many SENDs a second the empty durable queue took as the deep one."""
    durable = [
        other for other in runs if isinstance(other, Measure) and other.workload.startswith(DURABLE)
    ]
    empty = next((other for other in durable if other.workload.startswith(f"{DURABLE} 0,")), None)
    deep = next((other for other in durable if other is not empty), None)
    if empty is None or deep is None:
        return None
    return empty.value / deep.value if deep.value else math.inf


def _over_none_stalled(run: Measure, runs: Sequence[Run]) -> float | None:
    """How many ms the readers' delivery p99 grew with a stalled reader among them."""
    baseline = next(
        (
            other
            for other in runs
            if isinstance(other, Measure) and other.workload.startswith(NONE_STALLED)
        ),
        None,
    )
    if baseline is None or baseline.failure:
        return None
    return run.value - baseline.value


def _points_error_p99(run: GameRun, runs: Sequence[Run]) -> float:
    """No points error measured (no answer accepted) misses the goal."""
    return math.inf if run.points_error is None else run.points_error[1]


def points_error(run: GameRun) -> str:
    """p50 / p99 / max of the points error, per 1,000 points."""
    if run.points_error is None:
        return "n/a"
    return " / ".join(f"{value:.1f}" for value in run.points_error)


def _measure_value(run: Measure, figure: float) -> str:
    """A measure table shows each run's own figure, even where the goal judges a ratio."""
    return f"{run.value:,.1f} {run.unit}"


GOALS: tuple[Goal, ...] = (
    # The built-in broker against RabbitMQ, on the broker workloads.
    Goal(
        BROKER,
        "< 20 KiB per idle connection",
        Memory,
        lambda run, runs: run.bytes_per_connection / 1024,
        ("<", 20),
        lambda run, kib: f"{kib:.1f} KiB",
        target=OURS,
    ),
    Goal(
        BROKER,
        "deliveries/s >= 3x RabbitMQ",
        Throughput,
        _times_rabbitmq,
        (">=", 3),
        lambda run, ratio: f"{ratio:.2f}x",
        workload=r"x (500|1000)$",
        target=OURS,
    ),
    Goal(
        BROKER,
        "broadcast p99 < 50 ms",
        Latency,
        lambda run, runs: run.p99_ms,
        ("<", 50),
        lambda run, ms: f"{ms:.1f} ms",
        target=OURS,
    ),
    Goal(
        BROKER,
        "no message lost or duplicated, no connection dropped",
        Run,
        lambda run, runs: abs(run.lost) + len(run.dropped),
        ("<=", 0),
        lambda run, lost: f"{lost:,.0f}",
        target=OURS,
        total=True,
    ),
    # Queues, the durable store and idle heart-beats, each on a built-in broker of its own.
    Goal(
        QUEUES,
        "< 5% of a core",
        Measure,
        lambda run, runs: run.value,
        ("<", 5),
        _measure_value,
        workload=f"^{IDLE_CPU}",
        lossless=True,
    ),
    Goal(
        QUEUES,
        ">= 20,000 msg/s, 0 lost",
        Measure,
        lambda run, runs: run.value,
        (">=", 20_000),
        _measure_value,
        workload=f"^{QUEUE}",
        lossless=True,
    ),
    Goal(
        QUEUES,
        "deep within 2x of empty",
        Measure,
        _empty_over_deep,
        ("<=", 2),
        _measure_value,
        workload=f"^{DURABLE}",
    ),
    # History and resume, on a built-in broker of its own.
    Goal(
        HISTORY,
        ">= 50,000 msg/s, 0 lost",
        Measure,
        lambda run, runs: run.value,
        (">=", 50_000),
        _measure_value,
        workload=f"^{REPLAY}",
        lossless=True,
    ),
    Goal(
        HISTORY,
        "< 50 ms (as broadcast p99), caught up",
        Measure,
        lambda run, runs: run.value,
        ("<", 50),
        _measure_value,
        workload=f"^{RESUME}",
        lossless=True,
    ),
    # The HTTP fallback: an idle SSE subscriber within an idle WebSocket's goal.
    Goal(
        HISTORY,
        "< 20 KiB per idle SSE subscriber",
        Measure,
        lambda run, runs: run.value,
        ("<", 20),
        _measure_value,
        workload=f"^{IDLE_SSE}",
        lossless=True,
    ),
    # Flow control: a reader that never reads costs the others nothing.
    Goal(
        FLOW,
        "< 50 ms (as broadcast p99), 0 lost",
        Measure,
        lambda run, runs: run.value,
        ("<", 50),
        _measure_value,
        workload=f"^{NONE_STALLED}",
        lossless=True,
    ),
    Goal(
        FLOW,
        "within 20 ms of none stalled, 0 lost",
        Measure,
        _over_none_stalled,
        ("<", 20),
        _measure_value,
        workload=f"^{ONE_STALLED}",
        lossless=True,
    ),
    # Whole games, on every setup; some only on the shapes they are about. The bars are those
    # of Kahoot's largest game (2,000 players, 5-second questions) on one small server.
    Goal(
        GAMES,
        "100% of answers accepted",
        GameRun,
        lambda run, runs: run.answers / run.answers_sent if run.answers_sent else 0.0,
        (">=", 1),
        lambda run, share: f"{run.answers:,} of {run.answers_sent:,}",
    ),
    Goal(
        GAMES,
        "answer acknowledgement p99 < 500 ms",
        GameRun,
        lambda run, runs: run.answer_p99_ms,
        ("<", 500),
        lambda run, ms: f"{ms:,.0f} ms",
    ),
    Goal(
        GAMES,
        "question-to-player p99 < 250 ms (host's start/next to the phone)",
        GameRun,
        lambda run, runs: run.p99_ms,
        ("<", 250),
        lambda run, ms: f"{ms:,.0f} ms",
    ),
    Goal(
        GAMES,
        "points error p99 ≤ 10 of 1,000",
        GameRun,
        _points_error_p99,
        ("<=", 10),
        lambda run, p99: points_error(run),
    ),
    Goal(
        GAMES,
        "joins ≥ 100/s (1,000 players in ≤ 10 s)",
        GameRun,
        lambda run, runs: run.joins_per_second,
        (">=", 100),
        lambda run, rate: f"{rate:,.0f}/s ({run.join_seconds:.1f} s)",
        workload="^(burst|flood|kahoot)",
    ),
    Goal(
        GAMES,
        "sustained ≥ 500 answers/s (stretch 1,000/s), where answers come faster",
        GameRun,
        lambda run, runs: run.answers_per_second,
        (">=", 500),
        lambda run, rate: f"{rate:,.0f}/s",
        workload="^flood",
    ),
    Goal(
        GAMES,
        "site CPU per join ≤ 8 ms",
        GameRun,
        lambda run, runs: run.site_cpu_ms_per_join,
        ("<=", 8),
        lambda run, ms: f"{ms:.1f} ms",
        workload="^(burst|flood|kahoot)",
    ),
    Goal(
        GAMES,
        "site CPU per answer ≤ 0.3 ms (what playing adds to the idle room's)",
        GameRun,
        lambda run, runs: run.site_cpu_ms_per_answer_above_idle,
        ("<=", 0.3),
        lambda run, ms: f"{ms:.2f} ms ({run.site_cpu_ms_per_answer:.2f} with the room's own)",
        workload="^kahoot",
    ),
    Goal(
        GAMES,
        "an idle lobby costs the site < 5% of a core",
        GameRun,
        lambda run, runs: run.site_core_share_idle,
        ("<", 0.05),
        lambda run, share: f"{share:.1%} of a core ({run.players:,} phones)",
        workload="^kahoot",
    ),
    Goal(
        GAMES,
        "nothing lost: answers, frames, joins",
        GameRun,
        lambda run, runs: (
            abs(run.lost) + run.frames_missing + len(run.http_errors) + len(run.dropped)
        ),
        ("<=", 0),
        lambda run, count: (
            f"lost {run.lost}, frames missing {run.frames_missing}, errors {len(run.http_errors)}"
        ),
    ),
)
