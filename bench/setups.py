"""The ways of serving the game that whole games are played on, started here.

A `Setup` is one of them running on free ports and a fresh database: the embedded defaults
as `make run` serves them (`start_embedded`), or RabbitMQ + PostgreSQL + several web workers
(`start_services`). It runs manage.py beside the site, tells the CPU its processes used so
far, and stops them and drops its database at the end.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.clients import ConnectionFailed, Endpoint, open_client
from bench.cpu import by_pid, with_children
from bench.loadgen import raise_fd_limit
from bench.players import Site
from bench.targets import REPO, free_port, local_beam, terminate, wait_for_port
from devtools.processes import run_checked, spawn

SERVICES_HOWTO = "make services"
STARTUP_SECONDS = 60.0
EMBEDDED = "embedded"
SERVICES = "RabbitMQ+PostgreSQL"
# What `make run`'s own broker gives the site (QUIZ_BROKER=builtin's defaults), which the
# embedded setup's site, told of a broker started here (QUIZ_BROKER=external), is given too:
# answers bound and stamped by the broker, the status topics' history (a joined page resumes
# it instead of loading its snapshot), presence, the HTTP fallback, and tokens as long as the
# broker remembers a kick.
MAKE_RUN_BROKER = {
    "STOMP_ANSWER_BINDING": "1",
    "STOMP_ARRIVAL_STAMP": "1",
    "STOMP_HISTORY": "1",
    "STOMP_PRESENCE": "1",
    "STOMP_HTTP_FALLBACK": "1",
    "STOMP_TOKEN_TTL_SECONDS": "3600",
}


@dataclass
class Setup:
    """One way of serving the game, running (see start_embedded and start_services)."""

    name: str
    description: str = ""
    site: Site | None = None
    env: dict[str, str] = field(default_factory=dict)  # the site's, for manage.py beside it
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path | None = None  # logs, the broker's config, the quiz
    _broker_process: psutil.Process | None = None
    _database: str | None = None  # PostgreSQL database to drop at the end
    _admin_url: str | None = None

    def cpu_seconds(self) -> dict[str, dict[int, float] | None]:
        """CPU used so far by each process of the web server(s), the broker and the database,
        by pid: processes come and go (PostgreSQL backends do)."""
        web = [process for popen in self._processes[-1:] for process in with_children(popen.pid)]
        broker = self._broker_process
        return {
            "site": by_pid(web),
            "broker": None if broker is None else by_pid([broker]),
            "db": None if self._database is None else by_pid(_postgres_backends(self._database)),
        }

    def manage(self, *args: str, **env: str) -> str:
        """manage.py's output, run beside the site in its environment (and `env`)."""
        return _manage({**self.env, **env}, *args)

    def stop(self, *, keep_logs: bool = False) -> Path | None:
        """Stop the servers and drop the database; the logs' folder, if kept."""
        for process in reversed(self._processes):
            terminate(process)
        self._processes = []
        if self._database and self._admin_url:
            _drop_database(self._admin_url, self._database)
            self._database = None
        if self.workdir is not None:
            if keep_logs:
                return self.workdir
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        return None


def start_embedded() -> Setup:
    """The site as `make run` serves it (manage.py rungame: gunicorn, gthread workers, one
    process per core) on a fresh SQLite database, and the built-in broker."""
    setup = Setup(EMBEDDED)
    workdir = setup.workdir = Path(tempfile.mkdtemp(prefix="bench-game-"))
    tcp_port, ws_port, http_port = free_port(), free_port(), free_port()
    passcode, secret = secrets.token_hex(16), secrets.token_hex(32)
    env = _site_env(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        QUIZ_BROKER="external",  # started here, with the bench's own ports and secrets
        STOMP_HOST="127.0.0.1",
        STOMP_PORT=str(tcp_port),
        STOMP_LOGIN="quiz",
        STOMP_PASSCODE=passcode,
        STOMP_TOKEN_SECRET=secret,
        STOMP_WS_URL=f"ws://127.0.0.1:{ws_port}/ws",
        STOMP_ADMIN_URL=f"http://127.0.0.1:{ws_port}",  # its management API, as make run's
        **MAKE_RUN_BROKER,
    )
    setup.env = env
    try:
        setup.manage("migrate", "--noinput")
        config = workdir / "broker.toml"
        config.write_text(setup.manage("broker_env", "--toml"))  # the config `make run` writes
        broker = [
            sys.executable, "-m", "broker", "--config", str(config),
            "--tcp", f"127.0.0.1:{tcp_port}", "--ws", f"127.0.0.1:{ws_port}",
            "--log-level", "warning",
        ]  # fmt: skip
        setup._processes.append(_spawn(broker, env, workdir / "broker.log"))
        wait_for_port(setup._processes[-1], ws_port, STARTUP_SECONDS)
        setup._broker_process = psutil.Process(setup._processes[-1].pid)
        server = [sys.executable, "manage.py", "rungame", "--addr", f"127.0.0.1:{http_port}"]
        setup._processes.append(_spawn(server, {**env, "DEBUG": "0"}, workdir / "site.log"))
        wait_for_port(setup._processes[-1], http_port, STARTUP_SECONDS)
    except BaseException:
        setup.stop()
        raise
    setup.description = (
        "`manage.py rungame` as `make run` starts the site (gunicorn, gthread workers: one "
        "process per core, 32 threads each; DEBUG off) on a fresh SQLite database, publishing to "
        "`python -m broker` with the config `make run` writes (`manage.py broker_env --toml`)"
    )
    setup.site = Site("127.0.0.1", http_port, _ws_endpoint(f"ws://127.0.0.1:{ws_port}/ws"))
    return setup


async def start_services(
    *, postgres_url: str, rabbitmq_stomp: str, rabbitmq_ws: str, web_workers: int
) -> tuple[Setup | None, str]:
    """gunicorn with `web_workers` workers on a fresh PostgreSQL database, publishing to
    RabbitMQ (QUIZ_BROKER=external); None and why not when a service is not reachable."""
    setup = Setup(SERVICES)
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed"
    try:
        with psycopg.connect(postgres_url, connect_timeout=3):
            pass
    except psycopg.Error as error:
        return None, f"PostgreSQL not reachable at {_no_password(postgres_url)}: {error}"
    stomp_host, _, stomp_port = rabbitmq_stomp.rpartition(":")
    credentials = _broker_env()
    publisher = Endpoint(
        "tcp",
        stomp_host,
        int(stomp_port),
        credentials["STOMP_LOGIN"],
        credentials["STOMP_PASSCODE"],
    )
    try:
        client = await asyncio.wait_for(open_client(publisher), 5)
        client.close()
    except (OSError, ConnectionFailed, TimeoutError) as error:
        return None, (
            f"RabbitMQ refused or did not answer the publisher {publisher.login} at "
            f"{rabbitmq_stomp}: {error or 'timed out'}"
        )
    workdir = setup.workdir = Path(tempfile.mkdtemp(prefix="bench-game-"))
    database = f"quiz_bench_{os.getpid()}_{secrets.token_hex(3)}"
    setup._admin_url = postgres_url
    _create_database(postgres_url, database)
    setup._database = database
    http_port = free_port()
    env = _site_env(
        DATABASE_URL=re.sub(r"/[^/?]*(\?|$)", f"/{database}\\1", postgres_url, count=1)
        if postgres_url.count("/") >= 3
        else f"{postgres_url}/{database}",
        QUIZ_BROKER="external",
        STOMP_HOST=stomp_host,
        STOMP_PORT=stomp_port,
        STOMP_WS_URL=rabbitmq_ws,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    setup.env = env
    try:
        setup.manage("migrate", "--noinput")
        server = [
            sys.executable, "manage.py", "rungame", "--workers", str(web_workers),
            "--addr", f"127.0.0.1:{http_port}",
        ]  # fmt: skip
        how = (
            f"`manage.py rungame --workers {web_workers}` (gunicorn, gthread workers of 32 "
            "threads, DEBUG off)"
        )
        setup._processes.append(_spawn(server, env, workdir / "site.log"))
        wait_for_port(setup._processes[-1], http_port, STARTUP_SECONDS)
    except BaseException:
        setup.stop()
        raise
    setup._broker_process = local_beam(stomp_host)
    setup.description = (
        f"{how} on a fresh PostgreSQL database ({database} at "
        f"{_no_password(postgres_url).rsplit('/', 1)[0]}, dropped afterwards), "
        f"QUIZ_BROKER=external: publishing to RabbitMQ at {rabbitmq_stomp} as "
        f"{publisher.login} (`manage.py broker_env`), players on {rabbitmq_ws}"
    )
    setup.site = Site("127.0.0.1", http_port, _ws_endpoint(rabbitmq_ws))
    return setup, ""


def _site_env(**overrides: str) -> dict[str, str]:
    """This process's environment for the site, but for what would point it at another
    database or broker."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("STOMP_") and name not in ("DATABASE_URL", "QUIZ_BROKER")
    }
    # every bench player joins from this machine's address: no per-client join limit
    env.update({"QUIZ_JOINS_PER_MINUTE": "1000000", "QUIZ_PIN_GUESSES_PER_MINUTE": "1000000"})
    env.update(overrides)
    return env


def _broker_env() -> dict[str, str]:
    """The publisher's credentials as Django derives them (what `make services` gave
    RabbitMQ)."""
    output = _manage(_site_env(), "broker_env")
    values = {}
    for line in output.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value.strip("'")
    return values


def _manage(env: dict[str, str], *args: str) -> str:
    return run_checked([sys.executable, "manage.py", *args], cwd=REPO, env=env)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn(
        command,
        cwd=REPO,
        env=env,
        log=log,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: raise_fd_limit(20_000),
    )


def _ws_endpoint(url: str) -> Endpoint:
    match = re.fullmatch(r"ws://([^:/]+):(\d+)(/.*)?", url)
    if match is None:
        raise ValueError(f"expected ws://HOST:PORT/PATH, got {url}")
    host, port, path = match.groups()
    return Endpoint("ws", host, int(port), "token", "", path or "/", heart_beat="10000,10000")


def _no_password(url: str) -> str:
    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", url)


def _create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_backends(database: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving `database` (their title names it)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and database in " ".join(
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found
