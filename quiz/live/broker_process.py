"""The broker as a process beside the site: the built-in one that `make run` (rungame) starts
and keeps running, and whether an external one listens."""

import ctypes
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError


def listening(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def broker_listens() -> bool:
    """Whether something listens where STOMP_HOST and STOMP_PORT say the broker is."""
    return listening(settings.STOMP_HOST, settings.STOMP_PORT)


def wait_for_broker(
    process: subprocess.Popen[bytes], host: str, port: int, timeout: float = 15.0
) -> None:
    """Until the broker listens; its own error (printed above) if it exits first."""
    deadline = time.monotonic() + timeout
    while not listening(host, port):
        if process.poll() is not None:
            raise CommandError(f"The broker exited with status {process.returncode} (see above).")
        if time.monotonic() > deadline:
            raise CommandError(f"The broker did not listen on {host}:{port} in {timeout:.0f} s.")
        time.sleep(0.05)


def remove_stale_configs(directory: Path) -> None:
    """The configs of runs that were killed before they could remove theirs (they hold the
    token secret): every broker-<pid>.toml whose process is gone."""
    for stale in directory.glob("broker-*.toml"):
        pid = stale.stem.removeprefix("broker-")
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            stale.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's process: alive


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """The kernel sends this process SIGTERM when the thread that started it ends, even if
    that process is killed outright (Linux): run in the broker's process before it starts,
    in the site's, in each gunicorn worker, and in rungame itself under `make run`."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# What stops `make run` when sent to any of its processes.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class BrokerSupervisor:
    """The built-in broker and the site, two children of rungame's first process.

    That process alone reaps them, so it sees how each ended (gunicorn's master reaps every
    child it has, so a broker it had started ended unseen: a `kill` of it looked like a
    crash). A broker that crashes (killed outright, or exits with an error) is started
    again, with a line in the log; one stopped on purpose (SIGTERM or SIGINT: it exits 0),
    or that dies more than `restarts` times in `window` seconds, stops the site: a game whose
    screens cannot follow is no game. The site's end, for whatever reason, ends the run; the
    broker is stopped after it, so requests still being answered can publish, and never
    started again once the run is stopping."""

    def __init__(
        self, config: Path, say: Callable[[str], None], *, restarts: int = 3, window: float = 60.0
    ) -> None:
        self.config = config
        self.say = say
        self.restarts = restarts
        self.window = window
        self.process: subprocess.Popen[bytes] | None = None
        self.gave_up = False
        self.stopped_by: int | None = None
        self._site_pid = 0
        self._deaths: deque[float] = deque()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broker", "--config", str(self.config)],
            cwd=settings.BASE_DIR,
            preexec_fn=die_with_parent,
            # Out of the terminal's process group: Ctrl-C (and `kill -TERM -PGID`) stops the
            # site, and rungame stops the broker after it, so requests still being answered
            # can publish.
            process_group=0,
        )
        wait_for_broker(self.process, settings.STOMP_HOST, settings.STOMP_PORT)

    def run_beside(self, serve: Callable[[], None]) -> int:
        """Run the site (`serve`, in a child process) until it ends, the broker beside it.
        Returns the status to exit with: 128 + the signal that stopped the run (SIGTERM when
        the broker or the site was stopped on its own), else the site's own."""
        # held back until both processes have their handlers
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            site = multiprocessing.get_context("fork").Process(
                target=_serve_in_child, args=(serve,), name="site"
            )
            site.start()
            self._site_pid = site.pid or 0
            for signum in STOP_SIGNALS:
                signal.signal(signum, lambda signum, _frame: self.stop(signum))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        while (ended := os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT).si_pid) != site.pid:
            if self.process is not None and ended == self.process.pid:
                self._broker_ended(self.process.wait())
            else:
                os.waitpid(ended, 0)  # none other is started; reaped all the same
        self._site_pid = 0
        site.join()
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        exitcode = site.exitcode or 0
        if exitcode == 0:  # gunicorn exits 0 when it was asked to stop
            self.say("The site was stopped; stopping the broker.")
            return 128 + signal.SIGTERM
        if exitcode < 0:
            killer = signal.Signals(-exitcode).name
            self.say(f"The site was killed ({killer}); stopping the broker.")
            return 128 - exitcode
        self.say(f"The site exited with status {exitcode}; stopping the broker.")
        return exitcode

    def stop(self, signum: int) -> None:
        """Stop the run: the site now, the broker once the site has ended (rungame's
        SIGTERM and SIGINT handler while the site runs)."""
        if self.stopped_by is None:
            self.stopped_by = signum
        if self._site_pid:
            os.kill(self._site_pid, signum)

    def _broker_ended(self, returncode: int) -> None:
        """A broker that ended: stopped on purpose, the run stops; crashed, it is started
        again, and the one started again is judged alike if it ends before it listens (a
        `kill` of it then is a stop too, not one more crash)."""
        while self.stopped_by is None:
            if returncode in (0, -signal.SIGTERM, -signal.SIGINT):
                self.say("The broker was stopped; stopping the site.")
                self.stop(signal.SIGTERM)
                return
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and self._deaths[0] < now - self.window:
                self._deaths.popleft()
            if len(self._deaths) > self.restarts:
                self.gave_up = True
                self.say(
                    f"The broker died {len(self._deaths)} times in {self.window:.0f} s; "
                    "stopping the site (the broker's errors are above)."
                )
                self.stop(signal.SIGTERM)
                return
            self.say("The broker exited; starting it again.")
            try:
                self.start()
                return
            except CommandError as error:
                self.say(str(error))
            if self.process is None or self.process.poll() is None:
                return  # slow to listen, but running: watched as any other
            returncode = self.process.returncode

    def stop_broker(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _serve_in_child(serve: Callable[[], None]) -> None:
    """The site's process: it stops when rungame's does (even killed outright), and takes
    SIGTERM and SIGINT as gunicorn does once it has set its handlers."""
    die_with_parent()
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    serve()
