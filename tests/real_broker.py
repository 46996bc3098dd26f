"""Start a REAL `python -m broker` process for integration tests.

`start_broker(directory, toml=...)` picks free ports, writes the TOML config, waits until both
listeners accept connections, and stops the process with SIGTERM afterwards. The broker
tests and the game tests both start their brokers with it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.processes import free_port, run_checked, spawn, terminate, wait_for_port

__all__ = ["REPO", "STATS_TOML", "BrokerProcess", "free_port", "get_json", "start_broker"]

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_SECONDS = 15.0


def manage(*args: str, env: dict[str, str]) -> str:
    """`python manage.py ARGS` of this checkout in `env`: its output, or a RuntimeError with
    what it printed."""
    return run_checked([sys.executable, "manage.py", *args], cwd=REPO, env=env)


def user_table(login: str, passcode: str, *, read: str = "", write: str = "") -> str:
    """A `[[users]]` table of the broker's config; `read` and `write` as TOML lists, if given
    (every right if not)."""
    from broker.auth import hash_passcode

    rights = "".join(
        f"{name} = {value}\n" for name, value in (("read", read), ("write", write)) if value
    )
    return f'[[users]]\nlogin = "{login}"\npasscode_hash = "{hash_passcode(passcode)}"\n{rights}\n'


# Config that lets the test user `guest` read /stats, which is closed by default.
STATS_TOML = '[http]\nstats_users = ["guest"]\n'


def get_json(url: str, login: str | None = None, passcode: str = "") -> dict[str, Any]:
    """GET a JSON document, with HTTP basic authentication when `login` is given."""
    headers = {}
    if login is not None:
        credentials = base64.b64encode(f"{login}:{passcode}".encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=STARTUP_TIMEOUT_SECONDS) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.load(response)


@dataclass
class BrokerProcess:
    """A running broker: where it listens, its process and its log file."""

    process: subprocess.Popen[bytes]
    tcp_port: int
    ws_port: int
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.ws_port}"

    def log(self) -> str:
        return self.log_path.read_text()

    def stats(self, login: str = "guest", passcode: str = "guest") -> dict[str, Any]:
        """/stats, as a user of `[http] stats_users` (STATS_TOML names guest)."""
        return get_json(f"{self.http_url}/stats", login, passcode)

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status."""
        return terminate(self.process)


@contextlib.contextmanager
def start_broker(
    directory: Path,
    *,
    toml: str = "",
    args: tuple[str, ...] = ("--user", "guest:guest"),
    host: str = "127.0.0.1",
) -> Iterator[BrokerProcess]:
    """Run `python -m broker` on free ports of `host` (`0.0.0.0` for every address) with
    `toml` as its config file, then stop it."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "broker.toml"
    config.write_text(toml)
    tcp_port, ws_port = free_port(), free_port()
    log_path = directory / "broker.log"
    command = [sys.executable, "-m", "broker", "--config", str(config)]
    command += ["--tcp", f"{host}:{tcp_port}", "--ws", f"{host}:{ws_port}", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = spawn(command, cwd=REPO, env=env, log=log_path)
    broker = BrokerProcess(process, tcp_port, ws_port, log_path)
    try:
        for port in (tcp_port, ws_port):
            wait_for_port(
                process, port, STARTUP_TIMEOUT_SECONDS, describe=lambda: f":\n{broker.log()}"
            )
        yield broker
    finally:
        broker.stop()
