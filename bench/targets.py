"""The brokers under test: the built-in one, started here, and a RabbitMQ found running."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.clients import ConnectionFailed, Endpoint, open_client
from bench.loadgen import raise_fd_limit
from broker.auth import hash_passcode
from devtools.processes import free_port, terminate, wait_for_port

OURS = "ours"  # the built-in broker's target name
PEER = "RabbitMQ"  # the broker it is compared with
BUILTIN_LOGIN = "bench"
# The built-in broker's login for subscribers that announce themselves (fan-out with presence
# on): presence is a right of its own, which the bench's every-right `--user` does not hold.
PRESENCE_LOGIN = "bench-presence"
RABBITMQ_HOWTO = (
    "apt-get install -y rabbitmq-server && "
    "rabbitmq-plugins enable rabbitmq_stomp rabbitmq_web_stomp && rabbitmq-server -detached"
)
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Target:
    """One broker: its two endpoints and, when it runs on this machine, its process."""

    name: str
    tcp: Endpoint
    ws: Endpoint
    process: psutil.Process | None
    server: str | None = None  # what its CONNECTED frames say it is
    presence_login: str | None = (
        None  # a login that may announce on /topic/bench.*; None: no presence
    )

    def endpoint(self, transport: str) -> Endpoint:
        return self.tcp if transport == "tcp" else self.ws

    def announcing(self, transport: str) -> Endpoint | None:
        """The endpoint as a login that may announce itself, if this broker has presence."""
        if self.presence_login is None:
            return None
        login = self.presence_login
        return replace(self.endpoint(transport), login=login, passcode=login)

    def cpu_seconds(self) -> float | None:
        """User + system CPU used so far, None when the process is not ours to see."""
        if self.process is None:
            return None
        times = self.process.cpu_times()
        return times.user + times.system

    def rss(self) -> int | None:
        return None if self.process is None else self.process.memory_info().rss

    def fd_limit(self) -> int | None:
        """The broker's soft limit on open files (from /proc: prlimit needs more rights)."""
        if self.process is None:
            return None
        try:
            limits = Path(f"/proc/{self.process.pid}/limits").read_text()
        except OSError:
            return None
        for line in limits.splitlines():
            if line.startswith("Max open files"):
                soft = line.split()[3]
                return None if soft == "unlimited" else int(soft)
        return None


def _presence_user() -> str:
    """The `[[users]]` table of PRESENCE_LOGIN (its passcode is its login, as the bench's)."""
    passcode_hash = hash_passcode(PRESENCE_LOGIN)
    return (
        f'[[users]]\nlogin = "{PRESENCE_LOGIN}"\npasscode_hash = "{passcode_hash}"\n'
        'read = ["/topic/bench.*"]\nwrite = []\nannounce = ["/topic/bench.*"]\n'
    )


# The load generator is one host: a thousand subscribers log in from 127.0.0.1 at once, so
# the passcode checks they wait for at once may be that many (the broker's defaults guard
# against one host flooding it with logins, which is what the bench does by design).
LOGIN_LIMITS = {"max_pending_logins": 100_000, "max_pending_logins_per_host": 100_000}


class BuiltinBroker:
    """`python -m broker` as a child process on free ports, stopped on exit; its config is
    `toml` with `limits` (beside LOGIN_LIMITS) and lets the bench's user read /stats."""

    def __init__(
        self,
        connections: int,
        *,
        deflate: bool = False,
        extra_args: tuple[str, ...] = (),
        toml: str = "",
        limits: dict[str, int] | None = None,
    ) -> None:
        self._wanted_fds = connections + 1024
        self._deflate = deflate
        self._extra_args = extra_args
        limits_table = "".join(
            f"{key} = {value}\n" for key, value in {**LOGIN_LIMITS, **(limits or {})}.items()
        )
        self._toml = (
            f'[http]\nstats_users = ["{BUILTIN_LOGIN}"]\n{_presence_user()}{toml}\n'
            f"[limits]\n{limits_table}"
        )
        self._config: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.command: list[str] = []

    def start(self) -> Target:
        tcp_port, ws_port = free_port(), free_port()
        handle, name = tempfile.mkstemp(prefix="bench-broker-", suffix=".toml")
        os.close(handle)
        self._config = Path(name)
        self._config.write_text(self._toml)
        self.command = [
            sys.executable,
            "-m",
            "broker",
            "--tcp",
            f"127.0.0.1:{tcp_port}",
            "--ws",
            f"127.0.0.1:{ws_port}",
            "--user",
            f"{BUILTIN_LOGIN}:{BUILTIN_LOGIN}",
            "--log-level",
            "warning",
            "--config",
            str(self._config),
            *self._extra_args,
        ]
        self._process = subprocess.Popen(
            self.command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            preexec_fn=lambda: raise_fd_limit(self._wanted_fds),
        )
        for port in (tcp_port, ws_port):
            self._wait_for(port)
        endpoint = {"host": "127.0.0.1", "login": BUILTIN_LOGIN, "passcode": BUILTIN_LOGIN}
        return Target(
            name=OURS,
            tcp=Endpoint("tcp", port=tcp_port, **endpoint),
            ws=Endpoint("ws", port=ws_port, deflate=self._deflate, **endpoint),
            process=psutil.Process(self._process.pid),
            presence_login=PRESENCE_LOGIN,
        )

    def _wait_for(self, port: int) -> None:
        assert self._process is not None
        try:
            wait_for_port(self._process, port)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            terminate(process)
        if self._config is not None:
            self._config.unlink(missing_ok=True)
            self._config = None


async def find_rabbitmq(
    stomp_address: str, ws_url: str, login: str, passcode: str, *, deflate: bool = False
) -> tuple[Target | None, str]:
    """A Target when both endpoints accept a CONNECT, else None and why not."""
    host, _, port = stomp_address.rpartition(":")
    url = urlsplit(ws_url)
    tcp = Endpoint("tcp", host=host, port=int(port), login=login, passcode=passcode)
    ws = Endpoint(
        "ws",
        host=url.hostname or "127.0.0.1",
        port=url.port or 80,
        login=login,
        passcode=passcode,
        path=url.path or "/",
        deflate=deflate,
    )
    server = None
    for endpoint in (tcp, ws):
        try:
            client = await asyncio.wait_for(open_client(endpoint), 5.0)
        except (OSError, ConnectionFailed, TimeoutError) as error:
            return None, f"RabbitMQ not reachable at {endpoint}: {error or 'timed out'}"
        server = client.server
        client.close()
    return Target(PEER, tcp, ws, local_beam(host), server), ""


def local_beam(host: str) -> psutil.Process | None:
    """RabbitMQ's Erlang VM when the broker is on this machine (and there is only one)."""
    try:
        if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            return None
    except (OSError, ValueError):
        return None
    beams = [
        process
        for process in psutil.process_iter(["name"])
        if process.info["name"] in ("beam.smp", "beam")
    ]
    return beams[0] if len(beams) == 1 and beams[0].pid != os.getpid() else None
