"""Whole games: a host, and players in the workers, on a setup started by bench.setups.

`play_games` signs up a host over HTTP, opens the games of a `GameShape`, lets the workers'
players join, then the host starts and advances every game while the players answer, and
turns what both sides saw, and the points the site gave, into one `GameRun`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bench.clients import ConnectionFailed, StompClient, open_client
from bench.cpu import machine_busy
from bench.http import HttpError, HttpPool, Session
from bench.loadgen import LoadGenerator
from bench.players import (
    CollectPlayers,
    JoinPlayers,
    PlayersReport,
    by_question,
    merged,
    phone_address,
)
from bench.setups import Setup
from bench.stomp import Frame
from bench.workloads import Run, percentile

STALL_SECONDS = 10.0
# Not in step: how long a host waits before start, and reads each question's results.
START_OFFSET = (0.0, 5.0)
RESULTS_READ = (1.0, 4.0)
GRACE_SECONDS = 1.0  # QUIZ_ANSWER_GRACE_MS: a question closes this long after its deadline
LEAD_IN_SECONDS = 3.0  # QUIZ_LEAD_IN_MS: a question's answers open this long after it does
FRAMES_PER_QUESTION = ("question_open", "question_closed", "leaderboard", "my_result")


@dataclass(frozen=True)
class GameShape:
    """G games at once of N players each, Q questions of T seconds; each player answers
    between think[0] and think[1] seconds after the question's answers showed.

    In step, every host presses start and next together once every player of every game has
    the results; not in step, each host starts after a random offset and reads its own
    game's results for a random while before next, as hosts in different rooms do. With
    `idle_seconds`, the players wait that long in the lobby first (their pages renewing
    their tokens), to measure what an idle room costs the site."""

    name: str
    games: int
    players: int
    questions: int
    time_limit: int
    think: tuple[float, float]
    in_step: bool = True
    idle_seconds: float = 0.0

    def __str__(self) -> str:
        size = f"{self.games} games x {self.players}" if self.games > 1 else f"1 x {self.players}"
        described = (
            f"{self.name}: {size}, {self.questions} q of {self.time_limit} s, "
            f"think {self.think[0]:g}-{self.think[1]:g} s"
        )
        if not self.in_step:
            described += ", not in step"
        if self.idle_seconds:
            described += f", {self.idle_seconds:g} s idle lobby"
        return described


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
    site_cpu_by_process: list[float] = field(default_factory=list)  # busiest first
    site_cpu_joining: float | None = None  # while the players joined
    site_cpu_idle: float | None = None  # while the players waited in the lobby
    site_cpu_playing: float | None = None  # from the first start to the last game's end
    playing_seconds: float = 0.0
    idle_seconds: float = 0.0
    game_p99_ms: list[float] = field(default_factory=list)  # question to player, by game
    db_cpu: float | None = None

    @property
    def answers_per_second(self) -> float:
        return self.answers / self.answer_seconds if self.answer_seconds else 0.0

    @property
    def joins_per_second(self) -> float:
        total = self.games * self.players
        return total / self.join_seconds if self.join_seconds else 0.0

    @property
    def site_cpu_ms_per_join(self) -> float | None:
        """The site's CPU while the players joined, per player: the join form and the join
        (and the snapshot on RabbitMQ)."""
        if self.site_cpu_joining is None or not self.players:
            return None
        return self.site_cpu_joining * 1000 / (self.games * self.players)

    @property
    def site_core_share_idle(self) -> float | None:
        """The share of one core the site used while every player idled in the lobby."""
        if self.site_cpu_idle is None or not self.idle_seconds:
            return None
        return self.site_cpu_idle / self.idle_seconds

    @property
    def site_cpu_ms_per_idle_player_minute(self) -> float | None:
        share = self.site_core_share_idle
        if share is None or not self.players:
            return None
        return share * 60_000 / (self.games * self.players)

    @property
    def site_cpu_ms_per_answer(self) -> float | None:
        """The site's CPU while the games were played (host actions, frames and the answers'
        own work; not the joins) per accepted answer."""
        if self.site_cpu_playing is None or not self.answers:
            return None
        return self.site_cpu_playing * 1000 / self.answers

    @property
    def site_cpu_ms_per_answer_above_idle(self) -> float | None:
        """As site_cpu_ms_per_answer, less what the same room cost the site idling in the
        lobby for as long (its ticker, its connections): what playing adds, per answer."""
        share = self.site_core_share_idle
        if share is None or self.site_cpu_playing is None or not self.answers:
            return None
        added = self.site_cpu_playing - share * self.playing_seconds
        return max(added, 0.0) * 1000 / self.answers


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
        output = self.setup.manage("import_quiz", str(path), "--author", self.username)
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
        token = (await self._ok(self.http.get(self.session, f"/api/games/{game_id}/token/"))).json()
        endpoint = replace(self.site.ws, login=token["login"], passcode=token["token"])
        game.client = await asyncio.wait_for(open_client(endpoint), 30)
        # a queue of its own per game: one name for every game's topic would bind them all
        queue = f"{token['queue_prefix']}game-{game_id}"
        topic = f"/topic/games.{game_id}.status"
        await asyncio.wait_for(game.client.subscribe(topic, "s", queue), 30)
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
    cpu_before = setup.cpu_seconds(), loadgen.cpu_seconds(), machine_busy()
    try:
        quiz_id = await host.sign_up(questions, shape.time_limit)
        for _ in range(games):
            hosted.append(await host.open_game(quiz_id, players))
        everyone = [
            (game.id, game.pin, f"phone{index}", phone_address(number))
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
        run.site_cpu_joining = _seconds_used(cpu_before[0], setup.cpu_seconds(), "site")
        joined = [failure for worker in failures for failure in worker]
        if joined:
            run.failure = f"{len(joined)} of {len(everyone)} players could not join: {joined[0]}"
        else:
            if shape.idle_seconds:
                idle_from = setup.cpu_seconds()
                await asyncio.sleep(shape.idle_seconds)
                run.site_cpu_idle = _seconds_used(idle_from, setup.cpu_seconds(), "site")
                run.idle_seconds = shape.idle_seconds
            playing_from, playing_since = setup.cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(_host_game(host, game, hosted, loadgen, shape)
                                   for game in hosted))  # fmt: skip
            run.site_cpu_playing = _seconds_used(playing_from, setup.cpu_seconds(), "site")
            run.playing_seconds = time.perf_counter() - playing_since
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
    output = setup.manage("shell", "-v", "0", "-c", POINTS_ERROR_SCRIPT,
                          BENCH_TRUE_REACTION_MS=str(path))  # fmt: skip
    errors = sorted(json.loads(output))
    if not errors:
        return None
    return percentile(errors, 50), percentile(errors, 99), errors[-1]


async def _host_game(
    host: Host,
    game: HostedGame,
    hosted: list[HostedGame],
    loadgen: LoadGenerator,
    shape: GameShape,
) -> None:
    """start, then next after each question closes (everyone answered, or its time is up),
    until finished.

    In step, before each action the host waits until every player of every game has the
    frames the host has seen, as a host waits for the room to read the results. Not in step,
    it waits a random offset before start and reads its own results for a random while.
    """
    questions = shape.questions
    timeout = LEAD_IN_SECONDS + shape.time_limit + GRACE_SECONDS + STALL_SECONDS
    for index in range(questions + 1):
        if shape.in_step:
            await _players_caught_up(hosted, loadgen)
        else:
            await asyncio.sleep(random.uniform(*(START_OFFSET if index == 0 else RESULTS_READ)))
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
    """Until the players have every status frame their hosts have, and their own result of
    each question closed (my_result, on their replies topics), or none came for a while."""
    last, last_change = -1, time.monotonic()
    while True:
        expected = sum(
            game.players * (sum(game.frames.values()) + game.frames["question_closed"])
            for game in hosted
        )
        delivered = loadgen.delivered()
        if delivered >= expected:
            return
        if delivered != last:
            last, last_change = delivered, time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            return
        await asyncio.sleep(0.005)


def _seconds_by_process(
    before: dict[str, dict[int, float] | None],
    after: dict[str, dict[int, float] | None],
    name: str,
) -> list[float] | None:
    """CPU seconds each process of `name` (site, broker, db) used between the two readings,
    busiest first; None for a side this setup does not have."""
    was, now = before[name], after[name]
    if was is None or now is None:
        return None
    return sorted((seconds - was.get(pid, 0.0) for pid, seconds in now.items()), reverse=True)


def _seconds_used(
    before: dict[str, dict[int, float] | None],
    after: dict[str, dict[int, float] | None],
    name: str,
) -> float | None:
    seconds = _seconds_by_process(before, after, name)
    return None if seconds is None else sum(seconds)


def _charge(
    run: GameRun,
    setup: Setup,
    loadgen: LoadGenerator,
    before: tuple[dict[str, dict[int, float] | None], float, float],
) -> None:
    servers_before, loadgen_before, busy_before = before
    servers = setup.cpu_seconds()

    run.site_cpu, run.broker_cpu, run.db_cpu = (
        _seconds_used(servers_before, servers, name) for name in ("site", "broker", "db")
    )
    run.site_cpu_by_process = _seconds_by_process(servers_before, servers, "site") or []
    run.loadgen_cpu = loadgen.cpu_seconds() - loadgen_before
    accounted = sum(value or 0.0 for value in (run.site_cpu, run.broker_cpu, run.db_cpu))
    run.other_cpu = max(0.0, machine_busy() - busy_before - accounted - run.loadgen_cpu)


def _score(run: GameRun, report: PlayersReport, hosted: list[HostedGame], host: Host) -> None:
    """Latencies, answer rate, lost answers and frames, HTTP errors."""
    games = {game.id: game for game in hosted}
    delays: list[int] = []
    spreads: list[int] = []
    by_game: dict[int, list[int]] = {}
    for (game_id, index), received in report.opened_ns.items():
        asked = games[game_id].opened_ns[index]
        delays += [moment - asked for moment in received]
        by_game.setdefault(game_id, []).extend(moment - asked for moment in received)
        spreads.append(max(received) - min(received))
    run.game_p99_ms = sorted(percentile(sorted(d), 99) / 1e6 for d in by_game.values())
    if delays:
        delays.sort()
        run.p50_ms = percentile(delays, 50) / 1e6
        run.p99_ms = percentile(delays, 99) / 1e6
        run.max_ms = delays[-1] / 1e6
        run.spread_ms = max(spreads) / 1e6
    windows: dict[int, tuple[int, int]] = {}  # question index -> first sent, last accepted
    question_index = {
        question_id: index for game in hosted for index, question_id in
        enumerate(sorted(game.recorded))
    }  # fmt: skip
    answer_ns = sorted(answer.done_ns - answer.sent_ns for answer in report.answers)
    if answer_ns:
        run.answer_p50_ms = percentile(answer_ns, 50) / 1e6
        run.answer_p99_ms = percentile(answer_ns, 99) / 1e6
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
