"""Simulated players, inside a load generator worker: join over HTTP, listen over STOMP, answer.

Each player is a phone in miniature: its own HTTP connection (kept alive while the site keeps
it, opened again when the site closed it) and cookie session; the requests a phone makes (the
join form, then the join, which answers with the play page, the player's snapshot and first
broker token in it; the static files a browser fetches once are left out); one WebSocket STOMP
connection with the page's heart-beats, subscribed to its game's status topic from the first
frame the broker keeps (the snapshot loaded only when the broker did not resume it:
RabbitMQ), and renewed with a new token before the old one runs out, as connection.js does;
and for every
question_open frame an answer after a random think time, with that think time as the
reaction time the page would measure: on its broker connection with a receipt when the page
has an answer topic (as play.js sends it), else POSTed. The worker records when each question
reached each player and what each answer got back; the main process, which knows when the
host asked, turns that into latencies.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from bench.clients import ConnectionFailed, Endpoint, SharedCounter, StompClient, open_client
from bench.http import HttpError, HttpPool, Session
from bench.stomp import Frame

CONNECT_TIMEOUT = 60.0
RENEW_BEFORE_EXPIRY_S = 10  # connection.js's RENEW_BEFORE_EXPIRY_MS
TOKEN_IN_PAGE = re.compile(rb'"token": (\{[^{}]*\})')
ANSWER_TOPIC_IN_PAGE = re.compile(rb'"answer_topic": "([^"]+)"')
REPLIES_IN_PAGE = re.compile(rb'"replies": "([^"]+)"')
SNAPSHOT_VERSION_IN_PAGE = re.compile(rb'"snapshot": \{"version": (\d+)')
BROKER_KEEPS_HISTORY_IN_PAGE = re.compile(rb'"history": true')
RECEIPT_WAIT_S = 3.0  # connection.js's RECEIPT_WAIT_MS: then the page POSTs its answer
VERSION_IN_FRAME = re.compile(rb'"version":(\d+)')
WS_HANDSHAKES_IN_FLIGHT = 25


@dataclass(frozen=True)
class Site:
    """Where the players go: the site over HTTP, and the broker's WebSocket endpoint
    (`ws.login` is "token"; each player's passcode is its own token)."""

    host: str
    port: int
    ws: Endpoint


@dataclass(frozen=True)
class JoinPlayers:
    """Join these players (game id, PIN, nickname) and subscribe them; reply with failures."""

    site: Site
    players: list[tuple[int, str, str, str]]  # game id, PIN, nickname, the phone's address
    think_seconds: tuple[float, float]


@dataclass(frozen=True)
class CollectPlayers:
    """Reply with a `PlayersReport`, then close every player's connections."""


@dataclass(frozen=True)
class AnswerRecord:
    game_id: int
    question_id: int
    nickname: str
    reaction_ms: int  # the think time: question_open received to answer sent
    outcome: str  # "ok", the API's "<status> <error code>", or why there was no response
    sent_ns: int  # perf_counter_ns, comparable across processes (CLOCK_MONOTONIC)
    done_ns: int


@dataclass
class PlayersReport:
    """What one worker's players saw."""

    players: int = 0
    # (game id, question index) -> when each player received its question_open
    opened_ns: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    answers: list[AnswerRecord] = field(default_factory=list)
    frames: list[Counter[str]] = field(default_factory=list)  # per player: frames by type
    join_errors: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    renewals: int = 0  # broker tokens renewed, each with a new connection

    def merge(self, other: PlayersReport) -> None:
        self.players += other.players
        for key, times in other.opened_ns.items():
            self.opened_ns.setdefault(key, []).extend(times)
        self.answers += other.answers
        self.frames += other.frames
        self.join_errors += other.join_errors
        self.dropped += other.dropped
        self.renewals += other.renewals


class _JoinFailed(Exception):
    pass


def phone_address(number: int) -> str:
    """The `number`th phone's own loopback address (127.0.0.0/8 is all this machine's), so that
    the site sees each phone at an address of its own, as on a school network."""
    return f"127.{number // (254 * 254) % 254 + 1}.{number // 254 % 254 + 1}.{number % 254 + 1}"


class Player:
    """One simulated player; its frames arrive through `on_message`, in the event loop."""

    def __init__(self, team: Players, game_id: int, pin: str, nickname: str, address: str) -> None:
        self.team = team
        self.game_id = game_id
        self.pin = pin
        self.nickname = nickname
        self.session = Session()
        self.address = address  # its own connection, from its own address
        self.http = HttpPool(team.site.host, team.site.port, 1, self.address)
        self.client: StompClient | None = None
        self.frames: Counter[str] = Counter()
        self.results: set[int] = set()  # questions whose own result (my_result) came
        self.version = 0  # of the newest status frame: the renewal's overlap delivers some twice
        self.token_seconds = 0  # the broker token's lifetime
        self.answer_topic: str | None = None  # where the page sends its answers, if anywhere
        self.replies: str | None = None  # the topic only this player's page reads
        self.receipts = 0
        self.renewals = 0

    async def join(self) -> None:
        """What a phone does from the join form to a live game screen, as play.html does."""
        http = self.http
        page = await http.get(self.session, f"/?pin={self.pin}")
        if page.status != 200:
            raise _JoinFailed(f"join form: {page.status}")
        page = await http.post_form(
            self.session, "/join/", {"pin": self.pin, "nickname": self.nickname}
        )
        found = TOKEN_IN_PAGE.search(page.body) if page.status == 200 else None
        version = SNAPSHOT_VERSION_IN_PAGE.search(page.body) if page.status == 200 else None
        if found is None or version is None:
            raise _JoinFailed(f"join: {page.error}, no broker token or snapshot in the page")
        token = json.loads(found.group(1))
        self.token_seconds = token["expires_in"]
        self.version = int(version.group(1))
        topic = ANSWER_TOPIC_IN_PAGE.search(page.body)
        self.answer_topic = topic.group(1).decode() if topic else None
        replies = REPLIES_IN_PAGE.search(page.body)
        self.replies = replies.group(1).decode() if replies else None
        # as game-page.js's replayKept: every frame kept, where the broker keeps them
        offset = "first" if BROKER_KEEPS_HISTORY_IN_PAGE.search(page.body) else None
        async with self.team.handshakes:
            self.client, receipt = await self.follow(token, offset=offset)
        if receipt.header("x-stream-resume") != "resumed":  # the page's reload (onReady)
            snapshot = await http.get(self.session, f"/api/games/{self.game_id}/snapshot/")
            if snapshot.status != 200:
                raise _JoinFailed(f"snapshot once subscribed: {snapshot.error}")
            self.version = max(self.version, snapshot.json()["version"])

    async def follow(
        self, token: dict[str, Any], offset: str | None = None
    ) -> tuple[StompClient, Frame]:
        """A connection with `token` (the site's `{token, login, queue_prefix, expires_in}`),
        subscribed to the game's status topic as the page does (from `offset` in its history,
        if given), and the subscription's RECEIPT."""
        endpoint = replace(self.team.site.ws, login=token["login"], passcode=token["token"])
        client = await asyncio.wait_for(open_client(endpoint, None, self.address), CONNECT_TIMEOUT)
        # its own queue: a renewal's connection overlaps the old one, which would share it
        queue = f"{token['queue_prefix']}{random.getrandbits(32):08x}"
        client.fast(self.on_message)  # before the SUBSCRIBE: the frames replayed come first
        if self.replies:  # its own result of each question comes there (my_result)
            await asyncio.wait_for(
                client.subscribe(self.replies, "replies", f"{queue}-replies"), CONNECT_TIMEOUT
            )
        receipt = await asyncio.wait_for(
            client.subscribe(f"/topic/games.{self.game_id}.status", "status", queue, offset=offset),
            CONNECT_TIMEOUT,
        )
        return client, receipt

    async def renew_tokens(self) -> None:
        """As connection.js does, 10 s before the token runs out: a new token, a second
        connection subscribed with it, then the old one closed (no snapshot needed)."""
        while True:
            await asyncio.sleep(
                max(self.token_seconds - RENEW_BEFORE_EXPIRY_S, self.token_seconds / 2)
            )
            reply = await self.http.get(self.session, f"/api/games/{self.game_id}/token/")
            if reply.status != 200:
                self.team.report.join_errors.append(f"{self.nickname}: renewal: {reply.error}")
                return
            token = reply.json()
            self.token_seconds = token["expires_in"]
            old = self.client
            self.client, _ = await self.follow(token)
            if old is not None:
                old.close()
            self.renewals += 1

    def on_message(self, client: StompClient, frame: Frame, now: int) -> None:
        """Counts each frame the page would apply, once, as delivered (the host waits on
        that count): not the frames the broker replays from before the player's snapshot."""
        if frame.header("subscription") == "replies":
            if _frame_type(frame.body) == "my_result":  # a renewal's overlap may bring it twice
                results = len(self.results)
                self.results.add(json.loads(frame.body)["data"]["question_id"])
                self.frames["my_result"] = len(self.results)
                self.team.progress.value += len(self.results) - results
            return
        version = VERSION_IN_FRAME.search(frame.body, 0, 80)
        if version is not None:
            if int(version.group(1)) <= self.version:
                return  # in the snapshot already, or the other connection of a renewal had it
            self.version = int(version.group(1))
        kind = _frame_type(frame.body)
        self.frames[kind] += 1
        self.team.progress.value += 1
        if kind == "question_open":
            data = json.loads(frame.body)["data"]
            question = data["question"]
            self.team.report.opened_ns.setdefault((self.game_id, question["index"]), []).append(now)
            # as the page: the question alone until its answers open (the lead-in)
            lead_in = max(0, question["opened_at"] - data["server_time"]) / 1000
            self.team.spawn(self.answer(question, lead_in))

    async def answer(self, question: dict[str, Any], lead_in: float) -> None:
        await asyncio.sleep(lead_in)
        shown = time.perf_counter_ns()
        await asyncio.sleep(random.uniform(*self.team.think_seconds))
        choice = random.choice(question["choices"])["id"]
        sent = time.perf_counter_ns()
        reaction_ms = (sent - shown) // 1_000_000
        body = {"question_id": question["id"], "choice_ids": [choice], "reaction_ms": reaction_ms}
        outcome = await self._send(body) if self.answer_topic else "no answer topic"
        if outcome != "ok":
            try:
                response = await self.http.post_json(
                    self.session, f"/api/games/{self.game_id}/answer/", body
                )
                outcome = "ok" if response.status == 200 else response.error
            except (HttpError, TimeoutError) as error:
                outcome = str(error) or type(error).__name__
        self.team.report.answers.append(
            AnswerRecord(
                self.game_id,
                question["id"],
                self.nickname,
                reaction_ms,
                outcome,
                sent,
                time.perf_counter_ns(),
            )
        )

    async def _send(self, body: dict[str, Any]) -> str:
        """As the page does: the answer on its broker connection, "ok" once the RECEIPT says
        the broker has it; else why not (the caller POSTs it then)."""
        client = self.client
        if client is None or client.closed.done():
            return "no broker connection"
        assert self.answer_topic is not None
        self.receipts += 1
        receipt = f"answer-{self.receipts}"
        data = json.dumps(body, separators=(",", ":")).encode()
        try:
            await asyncio.wait_for(
                client.send_with_receipt(self.answer_topic, data, receipt), RECEIPT_WAIT_S
            )
        except (ConnectionFailed, TimeoutError) as error:
            return f"no receipt ({error or type(error).__name__})"
        return "ok"


def _frame_type(body: bytes) -> str:
    """The frame's type without parsing the whole body: the publisher writes it first."""
    prefix = b'{"type":"'
    if body.startswith(prefix):
        return body[len(prefix) : body.index(b'"', len(prefix))].decode()
    return str(json.loads(body).get("type"))


class Players:
    """This worker's share of the players."""

    def __init__(self, command: JoinPlayers, progress: SharedCounter) -> None:
        self.site = command.site
        self.think_seconds = command.think_seconds
        self.progress = progress
        self.handshakes = asyncio.Semaphore(WS_HANDSHAKES_IN_FLIGHT)
        self.report = PlayersReport(players=len(command.players))
        self.players = [Player(self, *player) for player in command.players]
        self._tasks: set[asyncio.Task[None]] = set()
        self._renewals: list[asyncio.Task[None]] = []

    async def join(self) -> list[str]:
        """Why players could not join: nothing when all did."""

        async def join_one(player: Player) -> None:
            try:
                await player.join()
            except (_JoinFailed, HttpError, OSError, ConnectionFailed, TimeoutError) as error:
                self.report.join_errors.append(f"{player.nickname}: {error or type(error)}")

        self.progress.value = 0
        await asyncio.gather(*(join_one(player) for player in self.players))
        self._renewals = [
            asyncio.get_running_loop().create_task(player.renew_tokens())
            for player in self.players
            if player.client is not None
        ]
        return self.report.join_errors

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def collect(self) -> PlayersReport:
        """Wait for answers still in flight, then report and close."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        for renewal in self._renewals:
            renewal.cancel()
        report = self.report
        report.renewals = sum(player.renewals for player in self.players)
        for player in self.players:
            report.frames.append(player.frames)
            if player.client is not None:
                if player.client.closed.done():
                    report.dropped.append(player.client.error or "connection closed")
                player.client.close()
            player.http.close()
        return report


def merged(reports: list[PlayersReport]) -> PlayersReport:
    total = PlayersReport()
    for report in reports:
        total.merge(report)
    return total


def by_question(report: PlayersReport) -> dict[tuple[int, int], list[AnswerRecord]]:
    """Answers grouped by (game id, question id)."""
    groups: dict[tuple[int, int], list[AnswerRecord]] = defaultdict(list)
    for answer in report.answers:
        groups[(answer.game_id, answer.question_id)].append(answer)
    return groups
