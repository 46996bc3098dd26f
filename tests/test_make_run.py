"""What `make run` does, as a new user sees it: migrate, seed the demo, start the site and
the broker; the pages, the browser library and the broker answer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil
import pytest
from real_broker import REPO, free_port, manage

from devtools.processes import listening
from quiz.balanced_worker import SLACK

WAIT_SECONDS = 30.0


def fetch(url: str) -> tuple[int, bytes]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Site:
    """A migrated SQLite database and free ports for `manage.py rungame`."""

    site: int
    tcp: int
    ws: int
    env: dict[str, str]
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def prepare(tmp_path: Path, **extra_env: str) -> Site:
    site, tcp, ws = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STOMP_PORT": str(tcp),
        "STOMP_WS_PORT": str(ws),
        "PYTHONUNBUFFERED": "1",
        "DEBUG": "0",  # as `make run` sets it
        **extra_env,
    }
    manage("migrate", "--noinput", env=env)
    return Site(site, tcp, ws, env, tmp_path / "rungame.log")


@contextlib.contextmanager
def rungame(site: Site) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py rungame` as `make run` starts it, once it serves its first page; stopped
    with Ctrl-C afterwards."""
    with site.log.open("w") as log:
        process = start_rungame(site, log)
        try:
            fetch(f"http://127.0.0.1:{site.site}/")
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            process.wait(timeout=WAIT_SECONDS)


def start_rungame(site: Site, log: IO[str], **options: Any) -> subprocess.Popen[bytes]:
    """`manage.py rungame` on the site's port, its output to `log`."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "rungame", "--addr", f"127.0.0.1:{site.site}"],
        cwd=REPO,
        env=site.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **options,
    )


def rungame_once(site: Site, host: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    """`manage.py rungame` that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "manage.py", "rungame", "--addr", f"{host}:{site.site}"],
        cwd=REPO,
        env=site.env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )


def broker_configs() -> dict[Path, str]:
    return {path: path.read_text() for path in (REPO / "var").glob("broker*.toml")}


def test_make_run_serves_the_site_and_the_broker(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    seeded = manage("seed_demo", env=site.env)
    # this installation's own demo password, never the one older versions published
    login = f"demo / {(REPO / 'var' / 'demo_password').read_text().strip()}"
    assert login in seeded and "demo-quiz-123" not in seeded
    with rungame(site):
        status, page = fetch(f"http://127.0.0.1:{site.site}/")
        assert status == 200 and b"PIN" in page
        status, library = fetch(f"http://127.0.0.1:{site.site}/static/vendor/stompjs/index.js")
        assert status == 200 and b"client.js" in library
        status, health = fetch(f"http://127.0.0.1:{site.ws}/healthz")
        assert json.loads(health) == {"status": "ok"}
    output = site.output()
    assert f"Quiz Live: http://127.0.0.1:{site.site}/" in output
    assert f"Demo author login: {login}" in output


def test_make_run_lets_the_site_close_a_users_broker_connections(tmp_path: Path) -> None:
    """The built-in broker takes the admin call a kick makes (quiz.live.revocation), from the
    site's STOMP_ADMIN_LOGIN / STOMP_ADMIN_PASSCODE."""
    from django.conf import settings

    site = prepare(tmp_path)
    credentials = f"{settings.STOMP_ADMIN_LOGIN}:{settings.STOMP_ADMIN_PASSCODE}".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{site.ws}/api/connections/username/player%3A1",
        method="DELETE",
        headers={"Authorization": f"Basic {base64.b64encode(credentials).decode()}"},
    )
    with rungame(site):
        fetch(f"http://127.0.0.1:{site.ws}/healthz")  # once the broker is up
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            assert response.status == 204


def test_make_run_serves_the_site_with_gunicorn_threads_not_the_dev_server(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site):
        with urllib.request.urlopen(f"http://127.0.0.1:{site.site}/", timeout=5) as response:
            server = response.headers["Server"]
    assert server.startswith("gunicorn")
    assert "Using worker: BalancedThreadWorker" in site.output()  # gthread's, balanced


def gunicorn_workers(rungame: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The `rungame` processes under it that started none of their own: gunicorn's workers
    (forks of its master, which has them)."""
    workers = []
    for each in psutil.Process(rungame.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "rungame" in " ".join(each.cmdline()) and not each.children():
                workers.append(each)
    return workers


async def connections_held(port: int, count: int, workers: list[psutil.Process]) -> list[int]:
    """How many of `count` connections opened at once (a crowd of phones joining, each kept
    open after one request as browsers keep theirs) each of `workers` holds."""

    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: quiz\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        return writer

    writers = await asyncio.gather(*(one() for _ in range(count)))
    held = [
        sum(
            1
            for connection in worker.net_connections("tcp")
            if connection.laddr.port == port and connection.status == psutil.CONN_ESTABLISHED
        )
        for worker in workers
    ]
    for writer in writers:
        writer.close()
    return held


def test_make_runs_workers_share_a_crowds_connections_evenly(tmp_path: Path) -> None:
    """gunicorn's workers take connections from one socket, first come first served: left to
    themselves one took about 700 of 1,000 (quiz/balanced_worker)."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    crowd = 1000
    with rungame(site) as process:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(workers := gunicorn_workers(process)) < 2:  # gunicorn forks one at a time
            assert time.monotonic() < deadline, "fewer than 2 workers"
            time.sleep(0.1)
        # a thread of its own: Playwright's tests leave an event loop running in this one
        with ThreadPoolExecutor(1) as thread:
            held = thread.submit(asyncio.run, connections_held(site.site, crowd, workers)).result()
    assert sum(held) == crowd
    assert min(held) >= crowd / 2 - 2 * SLACK


def test_make_run_turns_debug_off_unless_asked() -> None:
    plan = subprocess.run(
        ["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "DEBUG=0 exec .venv/bin/python manage.py rungame" in plan
    plan = subprocess.run(
        ["make", "-n", "run", "DEBUG=1"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "DEBUG=1 exec .venv/bin/python manage.py rungame" in plan


def test_with_debug_off_make_run_serves_pictures_and_shows_no_tracebacks(tmp_path: Path) -> None:
    picture = REPO / "var" / "media" / "questions" / f"make-run-test-{os.getpid()}.svg"
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    site = prepare(tmp_path)
    try:
        with rungame(site):
            status, body = fetch(f"http://127.0.0.1:{site.site}/media/questions/{picture.name}")
            assert status == 200 and body.startswith(b"<svg")
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(f"http://127.0.0.1:{site.site}/no-such-page/", timeout=5)
    finally:
        picture.unlink()
    assert missing.value.code == 404
    page = missing.value.read()
    assert b"URLconf" not in page and b"DEBUG = True" not in page


def test_external_broker_makes_run_start_only_the_site(tmp_path: Path) -> None:
    site = prepare(tmp_path, QUIZ_BROKER="external")
    with rungame(site):
        status, _ = fetch(f"http://127.0.0.1:{site.site}/")
        assert status == 200
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", site.tcp), timeout=1).close()
    assert f"Broker: external, STOMP at 127.0.0.1:{site.tcp}" in site.output()


def test_make_run_beyond_loopback_refuses_the_repository_key_and_starts_nothing(
    tmp_path: Path,
) -> None:
    from quiz.settings import KNOWN_SECRET_KEYS

    # with DEBUG off the settings refuse that key anywhere (tests/quiz/test_secrets.py)
    site = prepare(tmp_path, SECRET_KEY=next(iter(KNOWN_SECRET_KEYS)), DEBUG="1")
    result = rungame_once(site, "0.0.0.0")
    assert result.returncode != 0
    assert "Refusing to listen on 0.0.0.0 with the SECRET_KEY published" in result.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", site.tcp), timeout=1).close()


def test_make_run_refuses_a_taken_site_port_before_starting_the_broker(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", site.site))
        taken.listen()
        result = rungame_once(site)
    assert result.returncode != 0
    assert f"127.0.0.1:{site.site}, for the site, is already in use" in result.stderr
    assert "broker" not in result.stdout + result.stderr.split("CommandError")[0]
    assert not listening(site.tcp)


def test_a_second_make_run_leaves_the_running_games_broker_config_alone(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = prepare(tmp_path / "first")
    second = prepare(tmp_path / "second")
    second.site = first.site  # the site's port is taken, the broker's are free
    with rungame(first):
        fetch(f"http://127.0.0.1:{first.site}/")
        configs = broker_configs()
        assert configs
        assert rungame_once(second).returncode != 0
        assert broker_configs() == configs
    assert not listening(second.tcp)


def test_sigterm_stops_rungame_with_its_broker_and_workers(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site) as process:
        children = psutil.Process(process.pid).children(recursive=True)
        assert children
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT_SECONDS)
    _, alive = psutil.wait_procs(children, timeout=WAIT_SECONDS)
    assert alive == []
    assert not listening(site.tcp)


def broker_child(process: subprocess.Popen[bytes], not_pid: int | None = None):
    """rungame's broker process (a new one, not `not_pid`), once it listens."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for child in psutil.Process(process.pid).children():
            try:
                if "broker" in child.cmdline() and child.pid != not_pid:
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.1)
    raise AssertionError("no broker child")


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not listening(port):
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.1)


def test_rungame_starts_the_broker_again_when_it_dies(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site) as process:
        first = broker_child(process)
        first.kill()
        second = broker_child(process, not_pid=first.pid)
        wait_listening(site.tcp)
        assert second.is_running()
    assert "The broker exited; starting it again." in site.output()


def test_rungame_stops_with_a_clear_message_when_the_broker_keeps_dying(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site) as process:
        broker = broker_child(process)
        for _ in range(4):  # three restarts are allowed in a minute
            broker.kill()
            broker.wait(timeout=WAIT_SECONDS)
            if _ < 3:
                broker = broker_child(process, not_pid=broker.pid)
        assert process.wait(timeout=WAIT_SECONDS) != 0
    output = site.output()
    assert "The broker died 4 times in 60 s; stopping the site" in output
    assert "Stopped: the broker kept dying" in output
    assert not listening(site.site)


def test_the_phone_hint_keeps_the_chosen_port(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site):
        pass  # it serves: the hint was printed before
    assert f"make run ADDR=0.0.0.0:{site.site}" in site.output()


def test_a_killed_rungame_takes_its_broker_along(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site) as process:
        broker = broker_child(process)
        process.kill()
        process.wait(timeout=WAIT_SECONDS)
        broker.wait(timeout=WAIT_SECONDS)
    assert not listening(site.tcp)


def test_the_next_make_run_removes_the_config_a_killed_one_left(tmp_path: Path) -> None:
    site = prepare(tmp_path)
    with rungame(site) as killed:
        killed.kill()
    left = REPO / "var" / f"broker-{killed.pid}.toml"
    assert left.exists()
    deadline = time.monotonic() + WAIT_SECONDS
    while listening(site.site):  # gunicorn's orphaned worker, until it sees its master gone
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with rungame(site):
        assert not left.exists()


def test_make_runs_broker_takes_the_publisher_login_only_over_tcp(tmp_path: Path) -> None:
    """A browser (or anyone on the LAN) cannot publish as the site."""
    from django.conf import settings
    from websockets.sync.client import connect

    site = prepare(tmp_path)
    frame = (
        f"CONNECT\naccept-version:1.2\nhost:/\nlogin:{settings.STOMP_LOGIN}\n"
        f"passcode:{settings.STOMP_PASSCODE}\n\n\0"
    )
    with rungame(site):
        fetch(f"http://127.0.0.1:{site.ws}/healthz")
        with connect(f"ws://127.0.0.1:{site.ws}/ws", subprotocols=["v12.stomp"]) as ws:
            ws.send(frame)
            over_websocket = ws.recv(timeout=5)
        with socket.create_connection(("127.0.0.1", site.tcp), timeout=5) as tcp:
            tcp.sendall(frame.encode())
            over_tcp = tcp.recv(4096)
    assert over_websocket.startswith("ERROR") and "listener" in over_websocket
    assert over_tcp.startswith(b"CONNECTED")


def kept_alive_connection(port: int) -> socket.socket:
    """A phone's connection to the site, kept open after its request as browsers keep theirs
    (a worker stopping gracefully waits for these)."""
    phone = socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS)
    phone.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert phone.recv(4096).startswith(b"HTTP/1.1 200")
    return phone


def everything_under(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The process and all it started, once all have: gunicorn's master and its 2 workers,
    the broker."""
    top = psutil.Process(process.pid)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        tree = [top, *top.children(recursive=True)]
        with contextlib.suppress(psutil.NoSuchProcess):
            commands = [" ".join(each.cmdline()) for each in tree]
            if len(gunicorn_workers(process)) == 2 and any("broker" in c for c in commands):
                return tree
        assert time.monotonic() < deadline, "not all of rungame's processes started"
        time.sleep(0.1)


def kill_all(processes: list[psutil.Process]) -> None:
    for each in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            each.kill()


def running(process: psutil.Process) -> bool:
    """Whether it still runs: a zombie (an orphan whose new parent has not reaped it yet) has
    stopped."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_all_stop(processes: list[psutil.Process], site: Site, *, log_from: int = 0) -> None:
    """All of `processes` stop, nothing listens, and the log from `log_from` on shows neither
    the broker started again nor a worker killed for taking too long to stop. (How long a stop
    takes is measured, not asserted here: docs/operations.md, "Stopping".)"""
    _, alive = psutil.wait_procs(processes, timeout=WAIT_SECONDS)
    assert [each.pid for each in alive if running(each)] == []
    assert not listening(site.site) and not listening(site.tcp)
    output = site.output()[log_from:]
    assert "starting it again" not in output
    assert "SIGKILL" not in output


def exit_status(processes: list[psutil.Process]) -> int:
    """The exit status of the first of `processes`, a child of this one that assert_all_stop
    waited for (psutil reaped it, so its Popen cannot tell)."""
    return processes[0].returncode  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_make_run_stops_the_site_and_the_broker(tmp_path: Path, how: str) -> None:
    """Killing `make` once left gunicorn's master, its workers and the broker serving."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    with site.log.open("w") as log:
        make = subprocess.Popen(
            ["make", "run", f"ADDR=127.0.0.1:{site.site}"],
            cwd=REPO,
            env=site.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    fetch(f"http://127.0.0.1:{site.site}/")
    processes = everything_under(make)
    try:
        with kept_alive_connection(site.site):
            make.send_signal(getattr(signal, how))
            assert_all_stop(processes, site)
    finally:
        kill_all(processes)
        make.wait(timeout=WAIT_SECONDS)


@pytest.mark.parametrize(
    ("how", "to"),
    [("SIGINT", "group"), ("SIGTERM", "group"), ("SIGTERM", "rungame"), ("SIGINT", "rungame")],
)
def test_rungame_stops_everything_promptly_and_never_restarts_the_broker_on_the_way_out(
    tmp_path: Path, how: str, to: str
) -> None:
    """Ctrl-C (SIGINT to the terminal's process group), `kill -TERM -PGID` or `kill PID`:
    stopping once saw the broker started again mid-shutdown and workers SIGKILLed."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    with rungame_in_a_group_of_its_own(site) as process:
        processes = everything_under(process)
        with kept_alive_connection(site.site):
            if to == "group":
                os.killpg(process.pid, getattr(signal, how))
            else:
                process.send_signal(getattr(signal, how))
            assert_all_stop(processes, site)
        assert exit_status(processes) == 128 + getattr(signal, how)


@contextlib.contextmanager
def rungame_in_a_group_of_its_own(site: Site) -> Iterator[subprocess.Popen[bytes]]:
    """rungame in a process group of its own, as a terminal gives `make run`, once it serves
    its first page; whatever is left of it is killed afterwards."""
    with site.log.open("w") as log:
        process = start_rungame(site, log, start_new_session=True)
    try:
        fetch(f"http://127.0.0.1:{site.site}/")
        yield process
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            kill_all(psutil.Process(process.pid).children(recursive=True))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT_SECONDS)


def assert_stopping_it_alone_stops_everything(
    process: subprocess.Popen[bytes], site: Site, target: psutil.Process, how: str
) -> None:
    """`kill -how` of `target` alone, one of rungame's processes, stops them all, the broker
    not started again, and rungame exits as a process stopped by SIGTERM does."""
    processes = everything_under(process)
    log_from = len(site.output())
    with kept_alive_connection(site.site):
        target.send_signal(getattr(signal, how))
        assert_all_stop(processes, site, log_from=log_from)
    assert exit_status(processes) == 128 + signal.SIGTERM


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_broker_stopped_alone_stops_everything_and_a_crashed_one_is_started_again(
    tmp_path: Path, how: str
) -> None:
    """gunicorn's master once reaped the broker, so rungame could not tell a `kill` of
    the broker from a crash and started it again."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    with rungame_in_a_group_of_its_own(site) as process:
        crashed = broker_child(process)
        crashed.kill()
        broker = broker_child(process, not_pid=crashed.pid)
        wait_listening(site.tcp)
        assert "The broker exited; starting it again." in site.output()
        assert_stopping_it_alone_stops_everything(process, site, broker, how)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_gunicorn_worker_stopped_alone_stops_everything_and_a_crashed_one_is_replaced(
    tmp_path: Path, how: str
) -> None:
    """gunicorn's master once started a new worker in place of one stopped by `kill`, as
    it does for one that crashed (which bench/faults.py's kill -9 relies on)."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    with rungame_in_a_group_of_its_own(site) as process:
        everything_under(process)
        crashed = gunicorn_workers(process)[0]
        crashed.kill()
        deadline = time.monotonic() + WAIT_SECONDS
        while len(workers := gunicorn_workers(process)) < 2 or crashed in workers:
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.1)
        assert_stopping_it_alone_stops_everything(process, site, gunicorn_workers(process)[0], how)


def test_a_gunicorn_master_stopped_alone_stops_everything(tmp_path: Path) -> None:
    """rungame runs gunicorn's master beside the broker: the master's end stops the broker."""
    site = prepare(tmp_path, WEB_CONCURRENCY="2")
    with rungame_in_a_group_of_its_own(site) as process:
        everything_under(process)
        master = gunicorn_workers(process)[0].parent()
        assert_stopping_it_alone_stops_everything(process, site, master, "SIGTERM")
