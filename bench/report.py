"""Plain aligned tables (valid markdown) of the runs, side by side per broker, and the goals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.workloads import Latency, Memory, Run, Throughput

OURS = "ours"
PEER = "RabbitMQ"


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


def _grouped(runs: Sequence[Run]) -> list[dict[str, Run]]:
    """Runs of the same transport and workload side by side, in the order they ran."""
    groups: dict[tuple[str, str], dict[str, Run]] = {}
    for run in runs:
        groups.setdefault((run.transport, run.workload), {})[run.target] = run
    return list(groups.values())


def _targets(runs: Sequence[Run]) -> list[str]:
    names = {run.target for run in runs}
    return [name for name in (OURS, PEER) if name in names]


def _number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _lost(run: Run | None) -> str:
    if run is None or run.failure:
        return "n/a"
    marks = []
    if run.lost:
        marks.append(f"LOST {run.lost:,}")
    if run.dropped:
        marks.append(f"DROPPED {len(run.dropped)} conn")
    return " ".join(f"**{mark}**" for mark in marks) or "0"


def _ratio(ours: float | None, peer: float | None) -> str:
    if not ours or not peer:
        return "n/a"
    return f"{ours / peer:.2f}x"


def _cells(group: dict[str, Run], targets: list[str], value: Callable[[Run], str]) -> list[str]:
    """One cell per target: the value, or 'failed' when that run did not happen."""
    cells = []
    for name in targets:
        run = group.get(name)
        cells.append("n/a" if run is None else "failed" if run.failure else value(run))
    return cells


def _joined(group: dict[str, Run], targets: list[str], value: Callable[[Run], str]) -> str:
    return " / ".join(_cells(group, targets, value))


def _who(targets: list[str]) -> str:
    return f" ({' / '.join(targets)})" if len(targets) > 1 else ""


def throughput_table(runs: Sequence[Throughput]) -> str:
    targets = _targets(runs)
    header = ["transport", "subscribers"]
    header += [f"{name} deliveries/s" for name in targets]
    if len(targets) > 1:
        header.append("ours/RabbitMQ")
    header += [
        f"lost{_who(targets)}",
        f"wall s{_who(targets)}",
        f"broker CPU s{_who(targets)}",
        f"load gen CPU s{_who(targets)}",
        f"other CPU s{_who(targets)}",
        f"broker CPU us/delivery{_who(targets)}",
    ]
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        row += _cells(group, targets, lambda run: _number(run.per_second))  # type: ignore[attr-defined]
        if len(targets) > 1:
            rates = [
                None if (run := group.get(name)) is None or run.failure else run.per_second  # type: ignore[attr-defined]
                for name in targets
            ]
            row.append(_ratio(*rates))
        row.append(" / ".join(_lost(group.get(name)) for name in targets))
        row.append(_joined(group, targets, lambda run: _number(run.seconds, 1)))  # type: ignore[attr-defined]
        row.append(_joined(group, targets, lambda run: _number(run.broker_cpu, 1)))
        row.append(_joined(group, targets, lambda run: _number(run.loadgen_cpu, 1)))
        row.append(_joined(group, targets, lambda run: _number(run.other_cpu, 1)))
        row.append(
            _joined(
                group,
                targets,
                lambda run: _number(
                    None
                    if run.broker_cpu is None or not run.received
                    else run.broker_cpu / run.received * 1e6,
                    1,
                ),
            )
        )
        rows.append(row)
    return table(header, rows)


def latency_table(runs: Sequence[Latency]) -> str:
    targets = _targets(runs)
    who = _who(targets)
    header = [
        "transport",
        "subscribers",
        f"p50 ms{who}",
        f"p99 ms{who}",
        f"spread p50 ms{who}",
        f"spread p99 ms{who}",
    ]
    if len(targets) > 1:
        header.append("p99 ours/RabbitMQ")
    header += [
        f"messages{who}",
        f"lost{who}",
        f"broker CPU s{who}",
        f"load gen CPU s{who}",
        f"other CPU s{who}",
    ]
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        for field in ("p50_ms", "p99_ms", "spread_p50_ms", "spread_p99_ms"):
            row.append(_joined(group, targets, lambda run, f=field: _number(getattr(run, f), 1)))
        if len(targets) > 1:
            p99s = [
                None if (run := group.get(name)) is None or run.failure else run.p99_ms  # type: ignore[attr-defined]
                for name in targets
            ]
            row.append(_ratio(*p99s))
        row.append(_joined(group, targets, lambda run: _number(run.messages)))  # type: ignore[attr-defined]
        row.append(" / ".join(_lost(group.get(name)) for name in targets))
        row.append(_joined(group, targets, lambda run: _number(run.broker_cpu, 1)))
        row.append(_joined(group, targets, lambda run: _number(run.loadgen_cpu, 1)))
        row.append(_joined(group, targets, lambda run: _number(run.other_cpu, 1)))
        rows.append(row)
    return table(header, rows)


def memory_table(runs: Sequence[Memory]) -> str:
    targets = _targets(runs)
    header = ["transport", "connections"]
    header += [f"{name} KiB/connection" for name in targets]
    if len(targets) > 1:
        header.append("ours/RabbitMQ")
    header += [f"RSS MiB before -> after{_who(targets)}", f"dropped{_who(targets)}"]
    rows = []
    for group in _grouped(runs):
        first = next(iter(group.values()))
        row = [first.transport, first.workload]
        row += _cells(group, targets, lambda run: _number(run.bytes_per_connection / 1024, 1))  # type: ignore[attr-defined]
        if len(targets) > 1:
            sizes = [
                None
                if (run := group.get(name)) is None or run.failure
                else run.bytes_per_connection  # type: ignore[attr-defined]
                for name in targets
            ]
            row.append(_ratio(*sizes))
        row.append(
            _joined(
                group,
                targets,
                lambda run: f"{run.rss_before / 2**20:,.0f} -> {run.rss_after / 2**20:,.0f}",  # type: ignore[attr-defined]
            )
        )
        row.append(_joined(group, targets, lambda run: _lost(run)))
        rows.append(row)
    return table(header, rows)


def goals_table(runs: Sequence[Run]) -> str:
    """The goals of issue 2, checked against this run's numbers."""
    rows: list[list[str]] = []
    ours = {(run.transport, run.workload): run for run in runs if run.target == OURS}
    peer = {(run.transport, run.workload): run for run in runs if run.target == PEER}
    for (transport, workload), run in ours.items():
        if isinstance(run, Throughput) and workload.endswith(("x 500", "x 1000")):
            other = peer.get((transport, workload))
            if other is None or other.failure or run.failure:
                continue
            ratio = run.per_second / other.per_second if other.per_second else 0.0  # type: ignore[attr-defined]
            rows.append(
                [
                    f"deliveries/s >= 3x RabbitMQ, {workload}",
                    transport,
                    f"{ratio:.2f}x",
                    _met(ratio >= 3),
                ]
            )
        elif isinstance(run, Latency) and not run.failure:
            rows.append(
                [
                    f"broadcast p99 < 50 ms, {workload}",
                    transport,
                    f"{run.p99_ms:.1f} ms",
                    _met(run.p99_ms < 50),
                ]
            )
        elif isinstance(run, Memory) and not run.failure:
            kib = run.bytes_per_connection / 1024
            rows.append(
                [
                    f"< 20 KiB per idle connection, {workload}",
                    transport,
                    f"{kib:.1f} KiB",
                    _met(kib < 20),
                ]
            )
    measured = [run for run in ours.values() if not run.failure]
    lost = sum(max(run.lost, 0) for run in measured) + sum(len(run.dropped) for run in measured)
    rows.append(["no message lost, no connection dropped", "all", f"{lost:,}", _met(lost == 0)])
    return table(["goal (ours)", "transport", "measured", "met"], rows, text_columns=2)


def _met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def problems(runs: Sequence[Run]) -> list[str]:
    """One loud line per failed run, loss or dropped connection."""
    lines = []
    for run in runs:
        where = f"{run.target} {run.transport} {run.workload}"
        if run.failure:
            lines.append(f"FAILED {where}: {run.failure}")
        if not run.failure and run.lost:
            lines.append(f"LOST {where}: {run.lost:,} of {run.expected:,} deliveries missing")
        if run.dropped:
            lines.append(
                f"DROPPED {where}: {len(run.dropped)} subscriber connections closed, "
                f"first: {run.dropped[0]}"
            )
    return lines
