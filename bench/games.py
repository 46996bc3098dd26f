"""Whole games: the site and its broker started here, a host, and players in the workers.

A `Setup` starts one way of serving the game (the embedded defaults as `make run` serves them,
or RabbitMQ + PostgreSQL + several web workers) on free ports and a fresh database.
`play_games` signs up a host over HTTP, opens the games of a `GameShape`, lets the workers'
players join, then the host starts and advances every game while the players answer, and
turns what both sides saw, and the points the site gave, into one `GameRun`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psutil

from bench.clients import ConnectionFailed, Endpoint, StompClient, open_client
from bench.http import HttpError, HttpPool, Session
from bench.loadgen import LoadGenerator, raise_fd_limit
from bench.players import (
    CollectPlayers,
    JoinPlayers,
    PlayersReport,
    Site,
    by_question,
    merged,
    phone_address,
)
from bench.stomp import Frame
from bench.targets import REPO, free_port, local_beam, terminate, wait_for_port
from bench.workloads import Run, _percentile

SERVICES_HOWTO = "make services"
STALL_SECONDS = 10.0
GRACE_SECONDS = 1.0  # QUIZ_ANSWER_GRACE_MS: a question closes this long after its deadline
STARTUP_SECONDS = 60.0
EMBEDDED = "embedded"
SERVICES = "RabbitMQ+PostgreSQL"
FRAMES_PER_QUESTION = ("question_open", "question_closed", "leaderboard")


@dataclass(frozen=True)
class GameShape:
    """G games at once of N players each, Q questions of T seconds; each player answers
    between think[0] and think[1] seconds after the question reached it."""

    name: str
    games: int
    players: int
    questions: int
    time_limit: int
    think: tuple[float, float]

    def __str__(self) -> str:
        size = f"{self.games} games x {self.players}" if self.games > 1 else f"1 x {self.players}"
        return (
            f"{self.name}: {size}, {self.questions} q of {self.time_limit} s, "
            f"think {self.think[0]:g}-{self.think[1]:g} s"
        )


@dataclass
class GameRun(Run):
    """One `GameShape` played."""

    games: int = 0
    players: int = 0  # per game
    questions: int = 0
    join_seconds: float = 0.0
    p50_ms: float = 0.0  # host's start/next request -> a player has the question_open frame
    p99_ms: float = 0.0
    max_ms: float = 0.0
    spread_ms: float = 0.0  # worst question: first player to last player
    answers_sent: int = 0
    answers: int = 0  # accepted (HTTP 200)
    refused: Counter[str] = field(default_factory=Counter)  # "<status> <code>" or why no reply
    answer_p50_ms: float = 0.0  # answer request sent -> response read
    answer_p99_ms: float = 0.0
    answer_seconds: float = 0.0  # per question, first answer sent to last accepted, summed
    points_error: tuple[float, float, float] | None = None  # p50, p99, max, of 1000 points
    frames_missing: int = 0
    renewals: int = 0  # broker tokens the players renewed, each with a new connection
    http_errors: list[str] = field(default_factory=list)  # joins, renewals and host actions
    site_cpu: float | None = None
    db_cpu: float | None = None
    skipped: str | None = None

    @property
    def answers_per_second(self) -> float:
        return self.answers / self.answer_seconds if self.answer_seconds else 0.0

    @property
    def joins_per_second(self) -> float:
        total = self.games * self.players
        return total / self.join_seconds if self.join_seconds else 0.0

    @property
    def site_cpu_ms_per_answer(self) -> float | None:
        """The site's CPU over the whole run (joins too) per accepted answer."""
        if self.site_cpu is None or not self.answers:
            return None
        return self.site_cpu * 1000 / self.answers


# The servers


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
        web = [process for popen in self._processes[-1:] for process in _with_children(popen.pid)]
        broker = self._broker_process
        return {
            "site": _cpu(web),
            "broker": None if broker is None else _cpu([broker]),
            "db": None if self._database is None else _cpu(_postgres_backends(self._database)),
        }

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
    """The site as `make run` serves it (manage.py rungame: gunicorn, threaded, one process
    on SQLite) on a fresh SQLite database, and the built-in broker."""
    setup = Setup(EMBEDDED)
    workdir = setup.workdir = Path(tempfile.mkdtemp(prefix="bench-game-"))
    tcp_port, ws_port, http_port = free_port(), free_port(), free_port()
    passcode, secret = secrets.token_hex(16), secrets.token_hex(32)
    config = workdir / "broker.toml"
    config.write_text(f'[tokens]\nsecret = "{secret}"\nresource_server_id = "broker"\n')
    env = _site_env(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        QUIZ_BROKER="external",  # started here, with the bench's own ports and secrets
        STOMP_HOST="127.0.0.1",
        STOMP_PORT=str(tcp_port),
        STOMP_LOGIN="quiz",
        STOMP_PASSCODE=passcode,
        STOMP_TOKEN_SECRET=secret,
        STOMP_WS_URL=f"ws://127.0.0.1:{ws_port}/ws",
    )
    setup.env = env
    try:
        _manage(env, "migrate", "--noinput")
        broker = [
            sys.executable, "-m", "broker", "--config", str(config),
            "--tcp", f"127.0.0.1:{tcp_port}", "--ws", f"127.0.0.1:{ws_port}",
            "--user", f"quiz:{passcode}", "--log-level", "warning",
        ]  # fmt: skip
        setup._processes.append(_spawn(broker, env, workdir / "broker.log"))
        wait_for_port(setup._processes[-1], ws_port, STARTUP_SECONDS)
        setup._broker_process = psutil.Process(setup._processes[-1].pid)
        server = [sys.executable, "manage.py", "rungame", "--addr", f"127.0.0.1:{http_port}"]
        setup._processes.append(_spawn(server, env, workdir / "site.log"))
        wait_for_port(setup._processes[-1], http_port, STARTUP_SECONDS)
    except BaseException:
        setup.stop()
        raise
    setup.description = (
        "`manage.py rungame` as `make run` starts the site (gunicorn, gthread workers: one "
        "process per core, 32 threads each; DEBUG on) on a fresh SQLite database, publishing to "
        "`python -m broker` (tokens secret and publisher user from its config)"
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
        _manage(env, "migrate", "--noinput")
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
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
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


def _with_children(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _postgres_backends(database: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving `database` (their title names it)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and database in " ".join(
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


# The host


@dataclass
class HostedGame:
    """One game as its host sees it: the HTTP actions and the frames on its status topic."""

    id: int
    pin: str
    players: int
    client: StompClient | None = None
    frames: Counter[str] = field(default_factory=Counter)
    recorded: dict[int, int] = field(default_factory=dict)  # question id -> answers in results
    opened_ns: dict[int, int] = field(default_factory=dict)  # question index -> start/next sent
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    failure: str | None = None

    def on_message(self, client: StompClient, frame: Frame, now: int) -> None:
        message = json.loads(frame.body)
        self.frames[message["type"]] += 1
        if message["type"] == "question_closed":
            results = message["data"]["results"]
            self.recorded[results["question_id"]] = sum(results["distribution"].values())
        self.changed.set()

    async def until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass
        return True


class Host:
    """A Django user signed up over HTTP, with its quiz, opening and running games."""

    def __init__(self, setup: Setup, username: str) -> None:
        assert setup.site is not None
        self.setup = setup
        self.site = setup.site
        self.username = username
        self.http = HttpPool(self.site.host, self.site.port, 8)
        self.session = Session()
        self.errors: list[str] = []

    async def sign_up(self, questions: int, time_limit: int) -> int:
        """The host's account (signed up, hence logged in) and a quiz; returns its id."""
        await self._ok(self.http.get(self.session, "/accounts/signup/"), 200)
        password = secrets.token_urlsafe(12)
        fields = {"username": self.username, "password1": password, "password2": password}
        await self._ok(self.http.post_form(self.session, "/accounts/signup/", fields), 302)
        quiz = {
            "title": "Bench quiz",
            "description": "",
            "questions": [
                {
                    "text": f"Question {number}?",
                    "time_limit": time_limit,
                    "points": 1000,
                    "choices": [{"text": f"Choice {c}", "correct": c == 0} for c in range(4)],
                }
                for number in range(1, questions + 1)
            ],
        }
        assert self.setup.workdir is not None
        path = self.setup.workdir / f"{self.username}.json"
        path.write_text(json.dumps(quiz))
        output = _manage(self.setup.env, "import_quiz", str(path), "--author", self.username)
        match = re.search(r"Imported quiz (\d+)", output)
        if match is None:
            raise RuntimeError(f"import_quiz said: {output.strip()}")
        return int(match.group(1))

    async def open_game(self, quiz_id: int, players: int) -> HostedGame:
        """POST /quizzes/<id>/host/, its PIN from the snapshot, and its status topic."""
        opened = await self._ok(self.http.post_form(self.session, f"/quizzes/{quiz_id}/host/", {}),
                                302)  # fmt: skip
        game_id = int(re.search(r"/games/(\d+)/host/", opened.headers["location"]).group(1))  # type: ignore[union-attr]
        snapshot = await self._ok(self.http.get(self.session, f"/api/games/{game_id}/snapshot/"))
        game = HostedGame(game_id, snapshot.json()["game"]["pin"], players)
        token = await self._ok(self.http.get(self.session, f"/api/games/{game_id}/token/"))
        endpoint = replace(self.site.ws, passcode=token.json()["token"])
        game.client = await asyncio.wait_for(open_client(endpoint), 30)
        await asyncio.wait_for(game.client.subscribe(f"/topic/games.{game_id}.status", "s"), 30)
        game.client.on_message = game.on_message
        return game

    async def act(self, game: HostedGame, action: str) -> bool:
        """start or next; False (and the error kept) when refused."""
        try:
            response = await self.http.post_json(
                self.session, f"/api/games/{game.id}/{action}/", {}
            )
        except (HttpError, TimeoutError) as error:
            self.errors.append(f"host {action}: {error or type(error).__name__}")
            return False
        if response.status != 200:
            self.errors.append(f"host {action}: {response.error}")
            return False
        return True

    async def _ok(self, request: Any, status: int = 200) -> Any:
        response = await request
        if response.status != status:
            raise RuntimeError(f"host request answered {response.status}, not {status}")
        return response

    async def close(self, games: list[HostedGame]) -> None:
        """Close the host's connections, and wait for it: a broker stopped with a connection
        still open waits for it."""
        clients = [game.client for game in games if game.client is not None]
        for client in clients:
            client.close()
        self.http.close()
        if clients:
            await asyncio.wait([client.closed for client in clients], timeout=5)


# The workload


def skipped_run(setup_name: str, shape: GameShape, why: str) -> GameRun:
    return GameRun(
        setup_name,
        "ws",
        str(shape),
        games=shape.games,
        players=shape.players,
        questions=shape.questions,
        skipped=why,
    )


async def play_games(setup: Setup, loadgen: LoadGenerator, shape: GameShape) -> GameRun:
    """The games of `shape`, all at once; see the module docstring."""
    games, players, questions = shape.games, shape.players, shape.questions
    run = GameRun(setup.name, "ws", str(shape), games=games, players=players, questions=questions)
    host = Host(setup, f"host{secrets.token_hex(4)}")
    hosted: list[HostedGame] = []
    cpu_before = setup.cpu_seconds(), loadgen.cpu_seconds(), _machine_busy()
    try:
        quiz_id = await host.sign_up(questions, shape.time_limit)
        for _ in range(games):
            hosted.append(await host.open_game(quiz_id, players))
        everyone = [
            (game.id, game.pin, f"p{index}", phone_address(number))
            for number, (game, index) in enumerate(
                (game, index) for game in hosted for index in range(players)
            )
        ]
        assert setup.site is not None
        started = time.perf_counter()
        shares = [everyone[index :: loadgen.workers] for index in range(loadgen.workers)]
        failures = await loadgen.ask(
            [JoinPlayers(setup.site, share, shape.think) for share in shares]
        )
        run.join_seconds = time.perf_counter() - started
        joined = [failure for worker in failures for failure in worker]
        if joined:
            run.failure = f"{len(joined)} of {len(everyone)} players could not join: {joined[0]}"
        else:
            await asyncio.gather(*(_host_game(host, game, hosted, loadgen, shape)
                                   for game in hosted))  # fmt: skip
        report = merged(await loadgen.ask([CollectPlayers()] * loadgen.workers))
    except (RuntimeError, OSError, HttpError, ConnectionFailed, TimeoutError) as error:
        run.failure = run.failure or f"{type(error).__name__}: {error}"
        return run
    finally:
        await host.close(hosted)
    _charge(run, setup, loadgen, cpu_before)
    _score(run, report, hosted, host)
    run.points_error = _points_error(setup, report)
    return run


# The points each answer got, against the formula for the player's true reaction time: run in
# the site's own environment, so that the formula is the site's (services.score_answer).
POINTS_ERROR_SCRIPT = """
import json, os
from quiz.game.models import Answer
from quiz.game.services import score_answer
with open(os.environ["BENCH_TRUE_REACTION_MS"]) as file:
    true_ms = {tuple(k.split("|")): v for k, v in json.load(file).items()}
errors = []
for a in Answer.objects.filter(player__game_id__in={int(g) for g, _, _ in true_ms}).values(
        "player__game_id", "player__nickname", "question_id", "response_ms",
        "question__points", "question__time_limit"):
    key = (str(a["player__game_id"]), a["player__nickname"], str(a["question_id"]))
    if key in true_ms:
        def points(ms):
            return score_answer(points=a["question__points"], time_limit=a["question__time_limit"],
                                response_ms=ms, correct=True) * 1000 / a["question__points"]
        errors.append(abs(points(a["response_ms"]) - points(true_ms[key])))
print(json.dumps(errors))
"""


def _points_error(setup: Setup, report: PlayersReport) -> tuple[float, float, float] | None:
    """p50, p99 and max of |points given - points for the true reaction time|, per 1,000."""
    accepted = {
        f"{answer.game_id}|{answer.nickname}|{answer.question_id}": answer.reaction_ms
        for answer in report.answers
        if answer.outcome == "ok"
    }
    if not accepted or setup.workdir is None:
        return None
    path = setup.workdir / "true-reaction-ms.json"
    path.write_text(json.dumps(accepted))
    env = {**setup.env, "BENCH_TRUE_REACTION_MS": str(path)}
    errors = sorted(json.loads(_manage(env, "shell", "-v", "0", "-c", POINTS_ERROR_SCRIPT)))
    if not errors:
        return None
    return _percentile(errors, 50), _percentile(errors, 99), errors[-1]


async def _host_game(
    host: Host,
    game: HostedGame,
    hosted: list[HostedGame],
    loadgen: LoadGenerator,
    shape: GameShape,
) -> None:
    """start, then next after each question closes (everyone answered, or its time is up),
    until finished.

    Before each action the host waits until every player of every game has the frames the
    host has seen, as a host waits for the room to read the results.
    """
    questions = shape.questions
    timeout = shape.time_limit + GRACE_SECONDS + STALL_SECONDS
    for index in range(questions + 1):
        await _players_caught_up(hosted, loadgen)
        game.opened_ns[index] = time.perf_counter_ns()
        if not await host.act(game, "start" if index == 0 else "next"):
            game.failure = host.errors[-1]
            return
        if index == questions:
            done = await game.until(lambda: game.frames["finished"] >= 1, timeout)
        else:
            done = await game.until(lambda i=index: game.frames["leaderboard"] > i, timeout)
        if not done:
            game.failure = f"game {game.id}: no {'finished' if index == questions else 'results'} "
            game.failure += f"frame {timeout:.0f} s after {'start' if index == 0 else 'next'}"
            return
    await _players_caught_up(hosted, loadgen)


async def _players_caught_up(hosted: list[HostedGame], loadgen: LoadGenerator) -> None:
    """Until the players have every status frame their hosts have, or none came for a while."""
    last, last_change = -1, time.monotonic()
    while True:
        expected = sum(game.players * sum(game.frames.values()) for game in hosted)
        delivered = loadgen.delivered()
        if delivered >= expected:
            return
        if delivered != last:
            last, last_change = delivered, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            return
        await asyncio.sleep(0.005)


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _charge(
    run: GameRun,
    setup: Setup,
    loadgen: LoadGenerator,
    before: tuple[dict[str, dict[int, float] | None], float, float],
) -> None:
    servers_before, loadgen_before, busy_before = before
    servers = setup.cpu_seconds()

    def used(name: str) -> float | None:
        was, now = servers_before[name], servers[name]
        if was is None or now is None:
            return None
        return sum(seconds - was.get(pid, 0.0) for pid, seconds in now.items())

    run.site_cpu, run.broker_cpu, run.db_cpu = used("site"), used("broker"), used("db")
    run.loadgen_cpu = loadgen.cpu_seconds() - loadgen_before
    accounted = sum(value or 0.0 for value in (run.site_cpu, run.broker_cpu, run.db_cpu))
    run.other_cpu = max(0.0, _machine_busy() - busy_before - accounted - run.loadgen_cpu)


def _score(run: GameRun, report: PlayersReport, hosted: list[HostedGame], host: Host) -> None:
    """Latencies, answer rate, lost answers and frames, HTTP errors."""
    games = {game.id: game for game in hosted}
    delays: list[int] = []
    spreads: list[int] = []
    for (game_id, index), received in report.opened_ns.items():
        asked = games[game_id].opened_ns[index]
        delays += [moment - asked for moment in received]
        spreads.append(max(received) - min(received))
    if delays:
        delays.sort()
        run.p50_ms = _percentile(delays, 50) / 1e6
        run.p99_ms = _percentile(delays, 99) / 1e6
        run.max_ms = delays[-1] / 1e6
        run.spread_ms = max(spreads) / 1e6
    windows: dict[int, tuple[int, int]] = {}  # question index -> first sent, last accepted
    question_index = {
        question_id: index for game in hosted for index, question_id in
        enumerate(sorted(game.recorded))
    }  # fmt: skip
    answer_ns = sorted(answer.done_ns - answer.sent_ns for answer in report.answers)
    if answer_ns:
        run.answer_p50_ms = _percentile(answer_ns, 50) / 1e6
        run.answer_p99_ms = _percentile(answer_ns, 99) / 1e6
    for (game_id, question_id), answers in by_question(report).items():
        accepted = [answer for answer in answers if answer.outcome == "ok"]
        run.answers_sent += len(answers)
        run.answers += len(accepted)
        run.expected += len(accepted)
        run.received += min(len(accepted), games[game_id].recorded.get(question_id, 0))
        run.refused.update(answer.outcome for answer in answers if answer.outcome != "ok")
        if accepted:
            index = question_index.get(question_id, -1)
            first = min(answer.sent_ns for answer in answers)
            last = max(answer.done_ns for answer in accepted)
            was = windows.get(index, (first, last))
            windows[index] = (min(was[0], first), max(was[1], last))
    run.answer_seconds = sum(last - first for first, last in windows.values()) / 1e9
    expected_frames = {kind: run.questions for kind in FRAMES_PER_QUESTION} | {"finished": 1}
    if not report.join_errors:  # else the game was not played: nothing to miss
        for frames in report.frames:
            run.frames_missing += sum(
                abs(count - frames[kind]) for kind, count in expected_frames.items()
            )
    run.renewals = report.renewals
    run.http_errors += report.join_errors + host.errors
    run.dropped = report.dropped
    failures = [game.failure for game in hosted if game.failure]
    if failures:
        run.failure = failures[0]
    if not delays and not run.failure:
        run.failure = "no player received a question"
