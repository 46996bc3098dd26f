"""Servers as child processes on free local ports: pick a port, wait until the process
listens on it, stop it; and commands run to their end. The tests and the bench start
brokers and sites, and run the site's manage.py, with these.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

STOP_SECONDS = 15.0


# The ports free_port gave lately: the kernel may give a port again as soon as its probe
# closes, before the caller (a broker starting) has bound it.
_GIVEN: deque[int] = deque(maxlen=1000)


def free_port() -> int:
    """A port nobody listens on right now (bind port 0 and let the kernel choose), and none
    this process was given lately: a broker's TCP and WebSocket ports, asked for one after
    the other, once came out the same."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.append(port)
            return port


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    process: subprocess.Popen[bytes],
    port: int,
    timeout: float = 20.0,
    *,
    host: str = "127.0.0.1",
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Until `process` listens on host:port; a RuntimeError if it exits or takes too long,
    with what `describe()` adds (its log, say)."""
    deadline = time.monotonic() + timeout
    while not listening(port, host):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited ({process.returncode}){describe()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listened on port {port} in {timeout:.0f} s{describe()}")
        time.sleep(0.05)


def terminate(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> int:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def spawn(
    command: list[str], *, cwd: Path, env: dict[str, str], log: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start `command` with its output (both streams) appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, **popen
        )


def run_checked(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    """Run `command` to its end and give its standard output; a RuntimeError with the end of
    what it printed if it fails."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise RuntimeError(f"{' '.join(command[1:3])}... exited {result.returncode}:\n{output}")
    return result.stdout
