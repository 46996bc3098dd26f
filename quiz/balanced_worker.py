"""Spread the phones' connections evenly over gunicorn's worker processes.

gunicorn's workers share one listening socket and whichever is first to `accept` takes the
connection. Phones keep theirs open for the whole game, so in a burst of joins nearly all of
them landed on one worker (19.9 s of CPU against 2.4 s for the other): the site ran on one
core. Here every worker writes how many connections it holds into memory all of them share,
and stops accepting while it holds more than the least loaded of the others plus a little
slack. The least loaded worker always accepts; one that stopped looks again every few
milliseconds, so when it becomes the least loaded no connection waits on it.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# How far ahead of the least loaded worker one may get: a few connections, so that workers
# do not take turns at every accept.
SLACK = 8
# How often a worker that stopped accepting looks whether it may again (gthread waits up to
# a second for events otherwise).
PAUSED_POLL_SECONDS = 0.005
FREE = -1


class ConnectionShares:
    """How many connections each live worker holds, in memory shared across `fork`.

    Slots are handed out and taken back by the master alone (before a fork, when a worker
    exits); each worker writes only its own slot."""

    def __init__(self, slots: int) -> None:
        self._held = multiprocessing.RawArray("q", [FREE] * slots)

    def claim(self) -> int:
        for slot, held in enumerate(self._held):
            if held == FREE:
                self._held[slot] = 0
                return slot
        raise RuntimeError("more live workers than connection share slots")

    def release(self, slot: int) -> None:
        self._held[slot] = FREE

    def may_accept(self, slot: int, held: int) -> bool:
        """Record that the worker in `slot` holds `held` connections; whether it may take
        another: yes unless another live worker holds more than SLACK fewer."""
        self._held[slot] = held
        others = [
            count for index, count in enumerate(self._held) if count != FREE and index != slot
        ]
        return not others or held <= min(others) + SLACK


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that takes no more than its share of the connections.

    gthread accepts while `nr_conns < worker_connections`, checked before every wait for
    events; here that limit is the configured one while this worker may accept, and what it
    already holds while it may not, and the wait is short while it may not."""

    shares: ConnectionShares
    slot: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._configured_connections = 0
        self._quitting = False
        super().__init__(*args, **kwargs)

    def handle_quit(self, sig: int, frame: object) -> None:
        """Quit once. Ctrl-C reaches a worker twice, as SIGINT from the terminal and SIGQUIT
        from its master: the second handler ran inside the first one's thread pool
        shutdown and waited for the lock the first held, for good, until the master killed
        the worker."""
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)

    def handle_exit(self, sig: int, frame: object) -> None:
        """SIGTERM quits as SIGQUIT does. Requests being answered are still answered (the
        pool's threads are joined on the way out); what is skipped is gthread's 2-s wait on
        idle kept-alive connections, which every phone holds, so a stop takes under 3 s."""
        self.handle_quit(sig, frame)

    @property  # type: ignore[override]
    def worker_connections(self) -> int:
        if self.shares.may_accept(self.slot, self.nr_conns):
            return self._configured_connections
        return min(self.nr_conns, self._configured_connections)

    @worker_connections.setter
    def worker_connections(self, limit: int) -> None:
        self._configured_connections = limit

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if not self._accepting and self.alive:
            timeout = min(timeout, PAUSED_POLL_SECONDS)
        super().wait_for_and_dispatch_events(timeout)


def balanced_options(*, workers: int) -> dict[str, Any]:
    """gunicorn settings that serve with BalancedThreadWorker: the worker class and the
    master's hooks that hand each worker a slot and take it back."""
    shares = ConnectionShares(workers * 2)  # a replacement starts before the old slot is freed
    BalancedThreadWorker.shares = shares

    def pre_fork(_arbiter: object, worker: BalancedThreadWorker) -> None:
        worker.slot = shares.claim()

    def child_exit(_arbiter: object, worker: BalancedThreadWorker) -> None:
        shares.release(worker.slot)

    return {"worker_class": BalancedThreadWorker, "pre_fork": pre_fork, "child_exit": child_exit}
