"""The broker as a process beside the site: the built-in one that `make run` (rungame) starts
and keeps running, and whether an external one listens."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
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
    """Run in the broker's process before it starts: the kernel sends it SIGTERM when
    rungame's thread that started it ends, even if rungame is killed outright (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class BrokerSupervisor:
    """The built-in broker as rungame's child: started, started again when it dies (a line in
    the log each time), and given up on when it dies more than `restarts` times in `window`
    seconds, which stops the site too: a game whose screens cannot follow is no game."""

    def __init__(
        self, config: Path, say: Callable[[str], None], *, restarts: int = 3, window: float = 60.0
    ) -> None:
        self.config = config
        self.say = say
        self.restarts = restarts
        self.window = window
        self.process: subprocess.Popen[bytes] | None = None
        self.gave_up = False
        self._deaths: deque[float] = deque()
        self._stopping = threading.Event()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broker", "--config", str(self.config)],
            cwd=settings.BASE_DIR,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        wait_for_broker(self.process, settings.STOMP_HOST, settings.STOMP_PORT)

    def watch(self, give_up: Callable[[], None]) -> None:
        """Check twice a second in a thread of its own until `stop()`."""
        threading.Thread(
            target=self._watch, args=(give_up,), name="broker-supervisor", daemon=True
        ).start()

    def _watch(self, give_up: Callable[[], None]) -> None:
        while not self._stopping.wait(0.5):
            if self.process is None or self.process.poll() is None:
                continue
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
                give_up()
                return
            # no status: gunicorn's arbiter reaps every child of its process, the broker too
            self.say("The broker exited; starting it again.")
            try:
                self.start()
            except CommandError as error:
                self.say(str(error))

    def stop(self) -> None:
        self._stopping.set()
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
