"""The report: plain aligned tables (valid markdown), each broker side by side, and the goals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bench import goals
from bench.games import GameRun
from bench.history import REPLAY, RESUME
from bench.http_subscribers import IDLE_SSE
from bench.queues import Measure
from bench.stalled import STALLED
from bench.targets import OURS, PEER
from bench.workloads import Latency, Memory, Run, Throughput

R = TypeVar("R", bound=Run)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 2) -> str:
    """A markdown table padded to align in a terminal; numbers are right-aligned."""
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if index < text_columns else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * width if index < text_columns else "-" * (width - 1) + ":"
        for index, width in enumerate(widths)
    ]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)])


class _Sides:
    """The targets that have runs in a section, and the helpers to put them side by side."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self.names = list(dict.fromkeys(run.target for run in runs))
        self.compared = len(self.names) > 1

    def label(self, what: str) -> str:
        """`what`, naming the sides when a cell holds one value per side."""
        return f"{what} ({' / '.join(self.names)})" if self.compared else what

    def each(self, group: dict[str, R], value: Callable[[R], str]) -> list[str]:
        """One cell per side: the value, 'failed' or 'n/a'."""
        cells = []
        for name in self.names:
            run = group.get(name)
            cells.append("n/a" if run is None else "failed" if run.failure else value(run))
        return cells

    def joined(self, group: dict[str, R], value: Callable[[R], str]) -> str:
        """One cell holding every side's value."""
        return " / ".join(self.each(group, value))

    def ratio(self, group: dict[str, R], value: Callable[[R], float]) -> str:
        """ours / RabbitMQ of one measure."""
        ours, peer = group.get(OURS), group.get(PEER)
        if ours is None or peer is None or ours.failure or peer.failure or not value(peer):
            return "n/a"
        return f"{value(ours) / value(peer):.2f}x"


def _grouped(runs: Sequence[R]) -> list[dict[str, R]]:
    """Runs of the same transport and workload side by side, in the order they ran."""
    groups: dict[tuple[str, str], dict[str, R]] = {}
    for run in runs:
        groups.setdefault((run.transport, run.workload), {})[run.target] = run
    return list(groups.values())


def _number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _loss(run: Run) -> str:
    marks = []
    if run.lost > 0:
        marks.append(f"LOST {run.lost:,}")
    elif run.lost < 0:
        marks.append(f"EXTRA {-run.lost:,}")
    if run.dropped:
        marks.append(f"DROPPED {len(run.dropped)} conn")
    return " ".join(f"**{mark}**" for mark in marks) or "0"


def _cpu_cells(sides: _Sides, group: dict[str, R]) -> list[str]:
    return [
        sides.joined(group, lambda run: _number(run.broker_cpu, 1)),
        sides.joined(group, lambda run: _number(run.loadgen_cpu, 1)),
        sides.joined(group, lambda run: _number(run.other_cpu, 1)),
    ]


def _cpu_header(sides: _Sides) -> list[str]:
    return [sides.label(f"{who} CPU s") for who in ("broker", "load gen", "other")]


def throughput_table(runs: Sequence[Throughput]) -> str:
    sides = _Sides(runs)
    header = ["transport", "subscribers", *(f"{name} deliveries/s" for name in sides.names)]
    if sides.compared:
        header.append("ours/RabbitMQ")
    header += [sides.label("lost"), sides.label("wall s"), *_cpu_header(sides)]
    header.append(sides.label("broker CPU us/delivery"))
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        row += sides.each(group, lambda run: _number(run.per_second))
        if sides.compared:
            row.append(sides.ratio(group, lambda run: run.per_second))
        row.append(sides.joined(group, _loss))
        row.append(sides.joined(group, lambda run: _number(run.seconds, 1)))
        row += _cpu_cells(sides, group)
        row.append(sides.joined(group, lambda run: _number(_us_per_delivery(run), 1)))
        rows.append(row)
    return table(header, rows)


def _us_per_delivery(run: Run) -> float | None:
    if run.broker_cpu is None or not run.received:
        return None
    return run.broker_cpu / run.received * 1e6


def latency_table(runs: Sequence[Latency]) -> str:
    sides = _Sides(runs)
    measures = {
        "p50 ms": lambda run: run.p50_ms,
        "p99 ms": lambda run: run.p99_ms,
        "spread p50 ms": lambda run: run.spread_p50_ms,
        "spread p99 ms": lambda run: run.spread_p99_ms,
    }
    header = ["transport", "subscribers", *(sides.label(name) for name in measures)]
    if sides.compared:
        header.append("p99 ours/RabbitMQ")
    header += [sides.label("messages"), sides.label("lost"), *_cpu_header(sides)]
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        for measure in measures.values():
            row.append(sides.joined(group, lambda run, m=measure: _number(m(run), 1)))
        if sides.compared:
            row.append(sides.ratio(group, lambda run: run.p99_ms))
        row.append(sides.joined(group, lambda run: _number(run.messages)))
        row.append(sides.joined(group, _loss))
        row += _cpu_cells(sides, group)
        rows.append(row)
    return table(header, rows)


def memory_table(runs: Sequence[Memory]) -> str:
    sides = _Sides(runs)
    header = ["transport", "connections", *(f"{name} KiB/connection" for name in sides.names)]
    if sides.compared:
        header.append("ours/RabbitMQ")
    header += [sides.label("RSS MiB before -> after"), sides.label("dropped")]
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        row += sides.each(group, lambda run: _number(run.bytes_per_connection / 1024, 1))
        if sides.compared:
            row.append(sides.ratio(group, lambda run: run.bytes_per_connection))
        row.append(
            sides.joined(
                group, lambda run: f"{run.rss_before / 2**20:,.0f} -> {run.rss_after / 2**20:,.0f}"
            )
        )
        row.append(sides.joined(group, _loss))
        rows.append(row)
    return table(header, rows)


def goals_table(runs: Sequence[Run]) -> str:
    """The broker's goals against RabbitMQ on the built-in broker's runs, each and all
    together; a failed run is not judged here (PROBLEMS says it failed)."""
    rows = []
    for verdict in _in_run_order(goals.verdicts(goals.BROKER, runs), runs):
        run = verdict.run
        if run is None:
            rows.append([verdict.goal.text, "all", verdict.measured, _met(verdict.met)])
        elif not run.failure:
            goal = f"{verdict.goal.text}, {run.workload}"
            rows.append([goal, run.transport, verdict.measured, _met(verdict.met)])
    return table(["goal (ours)", "transport", "measured", "met"], rows)


def measure_table(runs: Sequence[Measure], group: str = goals.QUEUES) -> str:
    """A group's figures, each against its goal (a new workload shows here once it has one
    in bench/goals.py)."""
    rows = []
    for verdict in _in_run_order(goals.verdicts(group, runs), runs):
        run = verdict.run
        assert run is not None  # these groups have no goal on a total
        rows.append(
            [
                run.workload,
                run.transport,
                "failed" if run.failure else verdict.measured,
                verdict.goal.text,
                _met(verdict.met),
                _loss(run),
                _number(run.broker_cpu, 1),
            ]
        )
    header = ["workload (ours)", "transport", "measured", "goal", "met", "lost", "broker CPU s"]
    return table(header, rows)


def _in_run_order(verdicts: list[goals.Verdict], runs: Sequence[Run]) -> list[goals.Verdict]:
    """Verdicts in the order their runs ran, the totals last."""
    position = {id(run): index for index, run in enumerate(runs)}

    def order(verdict: goals.Verdict) -> int:
        return len(runs) if verdict.run is None else position[id(verdict.run)]

    return sorted(verdicts, key=order)


def _met(met: bool | None) -> str:
    return "n/a" if met is None else "yes" if met else "**NO**"


def _refused(run: GameRun) -> str:
    return ", ".join(f"{code} ×{n:,}" for code, n in run.refused.most_common()) or "0"


GAME_MEASURES: dict[str, Callable[[GameRun], str]] = {
    "joins/s (all players joined in)": lambda run: (
        f"{run.joins_per_second:,.0f} ({run.join_seconds:.1f} s)"
    ),
    "question to player p50 / p99 / max ms": lambda run: (
        f"{run.p50_ms:,.0f} / {run.p99_ms:,.0f} / {run.max_ms:,.0f}"
    ),
    "question to player p99 by game: median game / worst game ms": lambda run: (
        f"{run.game_p99_ms[len(run.game_p99_ms) // 2]:,.0f} / {run.game_p99_ms[-1]:,.0f}"
        if len(run.game_p99_ms) > 1
        else "one game"
    ),
    "answers accepted / sent": lambda run: f"{run.answers:,} / {run.answers_sent:,}",
    "answers refused (by error)": _refused,
    "answer request p50 / p99 ms": lambda run: (
        f"{run.answer_p50_ms:,.0f} / {run.answer_p99_ms:,.0f}"
    ),
    "answers/s (accepted, per question's answer window)": lambda run: _number(
        run.answers_per_second
    ),
    "points error p50 / p99 / max (of 1,000)": goals.points_error,
    "site CPU ms per join (form and join)": lambda run: _number(run.site_cpu_ms_per_join, 1),
    "site CPU ms per answer (while playing: answers, host actions, frames)": lambda run: _number(
        run.site_cpu_ms_per_answer, 2
    ),
    "site CPU ms per answer above the idle room's (what playing adds)": lambda run: _number(
        run.site_cpu_ms_per_answer_above_idle, 2
    ),
    "site CPU ms per idle player-minute (lobby)": lambda run: _number(
        run.site_cpu_ms_per_idle_player_minute, 2
    ),
    "lost answers": _loss,
    "frames missing": lambda run: _bold_if(run.frames_missing),
    "join, renewal and host errors": lambda run: _bold_if(len(run.http_errors)),
    "broker token renewals (each a new connection)": lambda run: f"{run.renewals:,}",
    "CPU s: site / broker / db": lambda run: " / ".join(
        _number(value, 1) for value in (run.site_cpu, run.broker_cpu, run.db_cpu)
    ),
    "site CPU s by process (busiest first)": lambda run: " / ".join(
        _number(value, 1) for value in run.site_cpu_by_process
    ),
    "CPU s: load gen / other": lambda run: " / ".join(
        _number(value, 1) for value in (run.loadgen_cpu, run.other_cpu)
    ),
}


def game_table(runs: Sequence[GameRun]) -> str:
    """One column per game shape and setup, one row per measure."""
    header = ["measure", *(f"{run.workload}: {run.target}" for run in runs)]
    rows = []
    for name, measure in GAME_MEASURES.items():
        rows.append(
            [
                name,
                *(
                    f"skipped: {run.skipped}"
                    if run.skipped
                    else "failed"
                    if run.failure
                    else measure(run)
                    for run in runs
                ),
            ]
        )
    return table(header, rows, text_columns=len(header))


def _bold_if(count: int) -> str:
    return f"**{count:,}**" if count else "0"


def game_goals_table(runs: Sequence[GameRun]) -> str:
    """The whole games' goals, checked against every run they apply to."""
    rows = []
    for verdict in goals.verdicts(goals.GAMES, runs):
        assert verdict.run is not None  # whole games have no goal on a total
        where = f"{verdict.run.workload}: {verdict.run.target}"
        rows.append([verdict.goal.text, where, verdict.measured, _met(verdict.met)])
    return table(["goal (whole games)", "run", "measured", "met"], rows, text_columns=3)


def problems(runs: Sequence[Run]) -> list[str]:
    """One loud line per failed run, loss or dropped connection."""
    lines = []
    for run in runs:
        where = f"{run.target} {run.transport} {run.workload}"
        if isinstance(run, GameRun):
            if run.skipped:
                continue
            if run.frames_missing:
                lines.append(f"FRAMES {where}: {run.frames_missing:,} missing or extra")
            if run.http_errors:
                lines.append(
                    f"HTTP {where}: {len(run.http_errors):,} errors, first: {run.http_errors[0]}"
                )
        if run.failure:
            lines.append(f"FAILED {where}: {run.failure}")
        elif run.lost > 0:
            what = "answers" if isinstance(run, GameRun) else "deliveries"
            lines.append(f"LOST {where}: {run.lost:,} of {run.expected:,} {what} missing")
        elif run.lost < 0:
            lines.append(f"EXTRA {where}: {-run.lost:,} deliveries more than sent (duplicates)")
        if run.dropped:
            lines.append(
                f"DROPPED {where}: {len(run.dropped)} subscriber connections closed, "
                f"first: {run.dropped[0]}"
            )
    return lines


HISTORY = (REPLAY, RESUME, IDLE_SSE)
OWN_TABLES = (*HISTORY, STALLED)


def document(title: str, preamble: Sequence[str], runs: Sequence[Run]) -> str:
    """The whole report: preamble lines, one table per kind of workload, goals, problems."""
    games = [run for run in runs if isinstance(run, GameRun)]
    brokers = any(run.target == OURS and not isinstance(run, Measure) for run in runs)
    sections: list[tuple[str, Callable[[Any], str], Sequence[Run]]] = [
        ("Fan-out: deliveries per second", throughput_table, _of(Throughput, runs)),
        (
            "Broadcast latency: one message at a time, until every subscriber has it",
            latency_table,
            _of(Latency, runs),
        ),
        (
            "Memory of idle subscribed connections (broker RSS after - before)",
            memory_table,
            _of(Memory, runs),
        ),
        ("Goals: the broker against RabbitMQ", goals_table, runs if brokers else []),
        (
            "Queues, durable store and idle heart-beats, each on its own broker",
            measure_table,
            [run for run in _of(Measure, runs) if not run.workload.startswith(OWN_TABLES)],
        ),
        (
            "History, resume and idle SSE subscribers, each on its own broker",
            lambda shown: measure_table(shown, group=goals.HISTORY),
            [run for run in _of(Measure, runs) if run.workload.startswith(HISTORY)],
        ),
        (
            "A reader that never reads among 1,000 subscribers, on its own broker",
            lambda shown: measure_table(shown, group=goals.FLOW),
            [run for run in _of(Measure, runs) if run.workload.startswith(STALLED)],
        ),
        (
            "Whole games: host's start/next to each player's question_open, answers",
            game_table,
            games,
        ),
        ("Goals: whole games", game_goals_table, games),
    ]
    lines = [f"# {title}", "", *preamble]
    for heading, render, shown in sections:
        if shown:
            lines += ["", f"## {heading}", "", render(shown)]
    if found := problems(runs):
        lines += ["", "## PROBLEMS", "", *(f"- **{line}**" for line in found)]
    return "\n".join(lines)


def _of(kind: type[R], runs: Sequence[Run]) -> list[R]:
    return [run for run in runs if isinstance(run, kind)]
