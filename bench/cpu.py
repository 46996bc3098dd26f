"""CPU seconds: of processes by pid, and of the whole machine, for the runs' CPU columns.

Every run is charged what each side used between two readings; what no named process used
is the machine's `other`, where a busy machine shows.
"""

from __future__ import annotations

import psutil


def machine_busy() -> float:
    """CPU seconds the whole machine has spent so far, not idle nor waiting on I/O."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def with_children(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (gunicorn's workers), none if it has exited."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def by_pid(processes: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds so far, by pid: processes come and go between readings
    (PostgreSQL backends do), and those gone by now are left out."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds
