"""Many players at the same instant, over 4 gunicorn workers on PostgreSQL: every answer counts
once, and every transition happens once, by the game row's lock and the database's constraints.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest
import stomp
from django.conf import settings
from live_site import Browser, Response, Site
from real_broker import REPO

from quiz.game.services import score_answer

T = TypeVar("T")
PLAYERS = 200
DUPLICATES = 50
PLAYERS_AT_DEADLINE = 20
FRAME_TIMEOUT_SECONDS = 15.0


class StatusFrames(stomp.ConnectionListener):
    """Every frame on a game's status topic, in the order the broker delivered them."""

    def __init__(self, broker, game_id: int) -> None:
        self.topic = f"/topic/games.{game_id}.status"
        self.frames: list[dict[str, Any]] = []
        self._receipts: set[str] = set()
        self._changed = threading.Condition()
        self._conn = stomp.Connection([(broker.tcp_host, broker.tcp_port)])
        self._conn.set_listener("frames", self)
        self._conn.connect(broker.login, broker.passcode, wait=True)
        self._conn.subscribe(self.topic, id="status", headers={"receipt": "subscribed"})
        self._wait(lambda: "subscribed" in self._receipts)

    def on_message(self, frame: stomp.utils.Frame) -> None:
        with self._changed:
            self.frames.append(json.loads(frame.body))
            self._changed.notify_all()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        with self._changed:
            self._receipts.add(frame.headers["receipt-id"])
            self._changed.notify_all()

    def _wait(self, done: Callable[[], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(done, timeout=FRAME_TIMEOUT_SECONDS), self.frames

    def settled(self) -> list[dict[str, Any]]:
        """The frames so far, once a fence sent after every response has come back: the site
        published before it answered, so anything it sent is in by then."""
        self._conn.send(self.topic, json.dumps({"type": "fence"}))
        self._wait(lambda: any(frame["type"] == "fence" for frame in self.frames))
        return [frame for frame in self.frames if frame["type"] != "fence"]

    def settled_after(self, frame_type: str) -> list[dict[str, Any]]:
        """The frames once one of `frame_type` has come (published by a worker's ticker, not
        in answer to a request), and everything sent before the fence."""
        self._wait(lambda: any(frame["type"] == frame_type for frame in self.frames))
        return self.settled()

    def close(self) -> None:
        self._conn.disconnect()


@pytest.fixture
def new_game(
    site: Site, host: Browser, game_broker
) -> Iterator[Callable[[], tuple[dict, StatusFrames]]]:
    """Open games of the site's quizzes, each with a subscriber on its status topic."""
    subscribers: list[StatusFrames] = []

    def open_game(quiz: str = "long") -> tuple[dict, StatusFrames]:
        reply = host.post_form(f"/quizzes/{site.quiz_ids[quiz]}/host/", {})
        assert reply.status == 302, reply.body[:500]
        game_id = int(reply.headers["Location"].rstrip("/").split("/")[-2])
        subscribers.append(StatusFrames(game_broker, game_id))
        return host.get(f"/api/games/{game_id}/snapshot/").json()["game"], subscribers[-1]

    yield open_game
    for subscriber in subscribers:
        subscriber.close()


def join(site: Site, pin: str, nickname: str) -> Browser:
    player = Browser(site.url)
    player.get("/")  # the static join form, as a phone opens it
    reply = player.post_form("/join/", {"pin": pin, "nickname": nickname})
    assert reply.status == 200, reply.body[:500]  # the play page
    return player


def join_all(site: Site, pin: str, count: int) -> dict[str, Browser]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        nicknames = [f"player{n:03d}" for n in range(count)]
        return dict(
            zip(nicknames, pool.map(lambda name: join(site, pin, name), nicknames), strict=True)
        )


def at_once(actions: list[Callable[[], T]]) -> list[T]:
    """Run every action in its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def choice_ids(question: dict) -> dict[str, int]:
    return {choice["text"]: choice["id"] for choice in question["choices"]}


def answer(player: Browser, game_id: int, question_id: int, choice_id: int) -> Response:
    return player.post_json(
        f"/api/games/{game_id}/answer/", {"question_id": question_id, "choice_ids": [choice_id]}
    )


def workers_that_served(site: Site, path: str, requests: int) -> set[str]:
    """The pids in gunicorn's access log for `requests` requests to `path`."""
    deadline = time.monotonic() + 5
    while True:  # a worker logs a request just after it answered it
        lines = [line for line in site.access_log.read_text().splitlines() if path in line]
        if len(lines) >= requests or time.monotonic() > deadline:
            return {line.split()[0] for line in lines}
        time.sleep(0.05)


def test_200_players_answering_at_once_each_count_once_and_close_the_question_once(
    site: Site, host: Browser, new_game, database: psycopg.Connection
) -> None:
    game, status = new_game()
    players = join_all(site, game["pin"], PLAYERS)
    question = host.post_json(f"/api/games/{game['id']}/start/").json()["question"]
    ids = choice_ids(question)
    picks = {name: "wrong" if n % 3 == 0 else "right" for n, name in enumerate(players)}

    replies = at_once(
        [
            lambda player=player, name=name: answer(
                player, game["id"], question["id"], ids[picks[name]]
            )
            for name, player in players.items()
        ]
    )

    assert [reply.status for reply in replies] == [200] * PLAYERS
    assert len(workers_that_served(site, f"/api/games/{game['id']}/answer/", PLAYERS)) > 1
    frames = status.settled_after("leaderboard")  # a ticker closes it: everyone answered
    assert [frame["type"] for frame in frames] == [
        "question_open",
        "question_closed",
        "leaderboard",
    ]
    rows = database.execute(
        """SELECT p.nickname, a.response_ms, a.correct, a.points, p.score, c.text
           FROM game_answer a JOIN game_player p ON p.id = a.player_id
           JOIN game_answer_choices ac ON ac.answer_id = a.id
           JOIN game_choice c ON c.id = ac.choice_id
           WHERE p.game_id = %s AND a.question_id = %s""",
        (game["id"], question["id"]),
    ).fetchall()
    assert sorted(row[0] for row in rows) == sorted(players)
    for nickname, response_ms, correct, points, score, chosen in rows:
        assert chosen == picks[nickname]
        assert correct == (chosen == "right")
        assert (
            points
            == score
            == score_answer(points=1000, time_limit=60, response_ms=response_ms, correct=correct)
        )
    everyone = host.get(f"/api/games/{game['id']}/snapshot/").json()["results"]["players"]
    assert sorted((p["nickname"], p["points"]) for p in everyone) == sorted(
        (row[0], row[3]) for row in rows
    )
    top = frames[1]["data"]["results"]["players"]  # the frame: the top of the ranking
    assert [(p["nickname"], p["points"]) for p in top] == [
        (p["nickname"], p["points"]) for p in everyone[:5]
    ]


def test_50_copies_of_one_answer_at_once_are_accepted_once(
    site: Site, host: Browser, new_game, database: psycopg.Connection
) -> None:
    game, _ = new_game()
    players = join_all(site, game["pin"], 2)  # one answer must not close the question
    question = host.post_json(f"/api/games/{game['id']}/start/").json()["question"]
    player = players["player000"]
    right = choice_ids(question)["right"]

    replies = at_once([lambda: answer(player, game["id"], question["id"], right)] * DUPLICATES)

    assert sorted(reply.status for reply in replies) == [200] + [409] * (DUPLICATES - 1)
    assert {reply.json().get("error") for reply in replies if reply.status == 409} == {
        "already_answered"
    }
    assert database.execute(
        """SELECT count(*) FROM game_answer a JOIN game_player p ON p.id = a.player_id
           WHERE p.game_id = %s AND a.question_id = %s AND p.nickname = 'player000'""",
        (game["id"], question["id"]),
    ).fetchone() == (1,)


def test_next_twice_at_once_opens_the_next_question_once(
    site: Site, host: Browser, new_game
) -> None:
    game, status = new_game()
    join_all(site, game["pin"], 1)
    host.post_json(f"/api/games/{game['id']}/start/")
    host.post_json(f"/api/games/{game['id']}/close/")

    replies = at_once([lambda: host.post_json(f"/api/games/{game['id']}/next/")] * 2)

    assert sorted(reply.status for reply in replies) == [200, 409]
    assert [reply.json().get("error") for reply in replies if reply.status == 409] == [
        "wrong_state"
    ]
    opened = [
        frame["data"]["question"]["index"]
        for frame in status.settled()
        if frame["type"] == "question_open"
    ]
    assert opened == [0, 1]


def test_deadline_closes_once_when_the_timer_and_page_loads_race(
    site: Site, host: Browser, new_game
) -> None:
    game, status = new_game("short")
    players = join_all(site, game["pin"], PLAYERS_AT_DEADLINE)
    question = host.post_json(f"/api/games/{game['id']}/start/").json()["question"]
    grace = settings.QUIZ_ANSWER_GRACE_MS / 1000  # the question is due then, not before
    time.sleep(max(question["deadline"] / 1000 + grace - time.time(), 0))

    replies = at_once(
        [
            lambda player=player: player.get(f"/api/games/{game['id']}/snapshot/")
            for player in players.values()
        ]
    )

    assert [reply.status for reply in replies] == [200] * PLAYERS_AT_DEADLINE
    assert [frame["type"] for frame in status.settled_after("leaderboard")] == [
        "question_open",
        "question_closed",
        "leaderboard",
    ]


def test_collected_static_files_are_served_under_gunicorn(site: Site) -> None:
    stompjs = REPO / "node_modules" / "@stomp" / "stompjs" / "esm6" / "index.js"

    replies = at_once([lambda: Browser(site.url).get("/static/vendor/stompjs/index.js")] * 8)

    assert {(r.status, r.headers["Content-Type"].split(";")[0], r.body) for r in replies} == {
        (200, "text/javascript", stompjs.read_bytes())
    }
