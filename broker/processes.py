"""Servers as child processes on free local ports: pick a port, wait until the process
listens on it, stop it. The tests and the bench start brokers and sites with these.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable

STOP_SECONDS = 15.0


def free_port() -> int:
    """A port nobody listens on right now (bind port 0 and let the kernel choose)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    process: subprocess.Popen[bytes],
    port: int,
    timeout: float = 20.0,
    *,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Until `process` listens on `port`; a RuntimeError if it exits or takes too long, with
    what `describe()` adds (its log, say)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited ({process.returncode}){describe()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"nothing listened on port {port} in {timeout:.0f} s{describe()}"
                ) from None
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
