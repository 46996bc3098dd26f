"""Faults mid-answer-burst on RabbitMQ + PostgreSQL: restart RabbitMQ, restart
PostgreSQL, kill -9 a gunicorn worker; is any acknowledged answer lost, and how long until a
phone can be live again?

`python -m bench.faults [--phones N] [--only rabbitmq,postgresql,worker]`, as root, on the
services `make services` runs (of this checkout: RabbitMQ must know its publisher login). One
game of N phones on a fresh PostgreSQL database; per fault one question: every phone answers
over HTTP (POST /api/games/<id>/answer/, as a page on the fallback does) at a random moment of
the first 2 s, trying again every 0.2 s until it gets a 200 (acknowledged) or a 409 that says
an earlier try was stored; the fault is injected 0.5 s into the burst. Then:

* lost: answers acknowledged with 200 that the database does not hold (must be 0);
* site back: seconds from the fault's start until the site answers a phone's snapshot again
  (asked once the restart command returned, after `restarted_s`: its own time counts);
* phones live: seconds from the fault's start until a phone's token connects to the broker
  and subscribes to the game's topic, and its snapshot loads (what a page needs to say
  "Live"); a real page adds its reconnect backoff to this.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import psutil

from bench.clients import ConnectionFailed, open_client
from bench.games import Host
from bench.http import HttpError, HttpPool, Session
from bench.players import TOKEN_IN_PAGE
from bench.setups import EMBEDDED, Setup, start_embedded, start_services

BURST_SECONDS = 2.0
FAULT_AFTER_SECONDS = 0.5
RETRY_SECONDS = 0.2
GIVE_UP_SECONDS = 90.0
QUESTION_SECONDS = 120
SERVICES_SETUP = "services"


def restart_rabbitmq(setup: Setup) -> None:
    """Its application stopped and started again: every connection drops, as in a restart."""
    subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True)
    subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True)


def restart_postgresql(setup: Setup) -> None:
    subprocess.run(["pg_ctlcluster", "15", "main", "restart", "-m", "fast"], check=True)


def kill_a_worker(setup: Setup) -> None:
    site = psutil.Process(setup._processes[-1].pid)
    workers = [child for child in site.children() if "rungame" in " ".join(child.cmdline())]
    workers[0].kill()


FAULTS: dict[str, Callable[[Setup], None]] = {
    "rabbitmq": restart_rabbitmq,
    "postgresql": restart_postgresql,
    "worker": kill_a_worker,
}


@dataclass
class Phone:
    nickname: str
    http: HttpPool
    session: Session = field(default_factory=Session)
    token: dict[str, object] = field(default_factory=dict)


@dataclass
class FaultRun:
    fault: str
    answers: int = 0
    acknowledged: int = 0
    lost: int = 0
    restarted_s: float = 0.0  # until the restart command returned
    site_back_s: float = 0.0
    phones_live_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)


async def join(setup: Setup, pin: str, nickname: str) -> Phone:
    assert setup.site is not None
    phone = Phone(nickname, HttpPool(setup.site.host, setup.site.port, 2))
    await phone.http.get(phone.session, f"/?pin={pin}")
    page = await phone.http.post_form(phone.session, "/join/", {"pin": pin, "nickname": nickname})
    assert page.status == 200, f"join: {page.error}"  # the play page itself
    found = TOKEN_IN_PAGE.search(page.body)
    assert found is not None, "no token in the play page"
    phone.token = json.loads(found.group(1))
    return phone


async def answer(phone: Phone, game_id: int, question: dict, run: FaultRun) -> bool:
    """True once acknowledged (200), or once a 409 says an earlier try was stored."""
    await asyncio.sleep(random.uniform(0, BURST_SECONDS))
    body = {
        "question_id": question["id"],
        "choice_ids": [question["choices"][0]["id"]],
        "reaction_ms": 1000,
    }
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        try:
            response = await phone.http.post_json(
                phone.session, f"/api/games/{game_id}/answer/", body
            )
            outcome = str(response.status) if response.status == 200 else response.error
        except (HttpError, TimeoutError, OSError) as error:
            outcome = type(error).__name__
        if outcome == "200":
            return True
        if "already_answered" in outcome:
            run.errors["stored, its 200 lost"] = run.errors.get("stored, its 200 lost", 0) + 1
            return False
        run.errors[outcome[:60]] = run.errors.get(outcome[:60], 0) + 1
        await asyncio.sleep(RETRY_SECONDS)
    return False


async def phone_live(setup: Setup, phone: Phone, game_id: int) -> None:
    """Until this phone's token connects and subscribes, and its snapshot loads."""
    assert setup.site is not None
    while True:
        try:
            endpoint = replace(
                setup.site.ws, login=str(phone.token["login"]), passcode=str(phone.token["token"])
            )
            client = await asyncio.wait_for(open_client(endpoint), 5)
            queue = f"{phone.token['queue_prefix']}probe-{secrets.token_hex(4)}"
            await asyncio.wait_for(
                client.subscribe(f"/topic/games.{game_id}.status", "s", queue), 5
            )
            client.close()
            break
        except (ConnectionFailed, TimeoutError, OSError):
            await asyncio.sleep(0.1)
    await site_back(phone, game_id)


async def site_back(phone: Phone, game_id: int) -> None:
    while True:
        try:
            response = await phone.http.get(phone.session, f"/api/games/{game_id}/snapshot/")
            if response.status == 200:
                return
        except (HttpError, TimeoutError, OSError):
            pass
        await asyncio.sleep(0.1)


async def open_question(phones: list[Phone], game_id: int) -> dict:
    """The open question, once its answers are open (after the lead-in)."""
    while True:
        response = await phones[0].http.get(phones[0].session, f"/api/games/{game_id}/snapshot/")
        snapshot = response.json() if response.status == 200 else {}
        question = snapshot.get("question")
        if snapshot.get("game", {}).get("state") == "question_open" and question:
            lead_in = (question["opened_at"] - snapshot["server_time"]) / 1000
            await asyncio.sleep(max(0.0, lead_in) + 0.1)
            return question
        await asyncio.sleep(0.2)


async def until_state(phone: Phone, game_id: int, state: str) -> None:
    while True:
        response = await phone.http.get(phone.session, f"/api/games/{game_id}/snapshot/")
        if response.status == 200 and response.json()["game"]["state"] == state:
            return
        await asyncio.sleep(RETRY_SECONDS)


def stored_answers(setup: Setup, question_id: int) -> set[str]:
    """The nicknames whose answer to the question the database holds."""
    query = (
        "import json; from quiz.game.models import Answer; print(json.dumps(list("
        f"Answer.objects.filter(question_id={question_id})"
        ".values_list('player__nickname', flat=True))))"
    )
    return set(json.loads(setup.manage("shell", "-c", query).strip().splitlines()[-1]))


async def run_fault(setup: Setup, host: Host, game, phones: list[Phone], name: str) -> FaultRun:
    run = FaultRun(name, answers=len(phones))
    question = await open_question(phones, game.id)
    burst = [asyncio.create_task(answer(phone, game.id, question, run)) for phone in phones]
    await asyncio.sleep(FAULT_AFTER_SECONDS)
    started = time.monotonic()
    await asyncio.to_thread(FAULTS[name], setup)  # the service is down, then started again
    run.restarted_s = round(time.monotonic() - started, 2)
    probe = phones[-1]
    await site_back(probe, game.id)
    run.site_back_s = round(time.monotonic() - started, 2)
    await phone_live(setup, probe, game.id)
    run.phones_live_s = round(time.monotonic() - started, 2)
    done = await asyncio.gather(*burst)
    acknowledged = [phone.nickname for phone, ok in zip(phones, done, strict=True) if ok]
    run.acknowledged = len(acknowledged)
    run.lost = len(set(acknowledged) - stored_answers(setup, question["id"]))
    await host.act(game, "close")  # refused if it closed itself: everyone answered
    await until_state(probe, game.id, "question_closed")
    return run


async def main(phones_count: int, only: list[str], on: str) -> list[FaultRun]:
    if on == EMBEDDED:
        setup: Setup | None = start_embedded()
    else:
        setup, why = await start_services(
            postgres_url="postgres://quiz:quiz@127.0.0.1:5432/quiz",
            rabbitmq_stomp="127.0.0.1:61613",
            rabbitmq_ws="ws://127.0.0.1:15674/ws",
            web_workers=2,
        )
        if setup is None:
            raise SystemExit(why)
    runs = []
    try:
        host = Host(setup, f"host{secrets.token_hex(4)}")
        quiz_id = await host.sign_up(len(only), QUESTION_SECONDS)
        game = await host.open_game(quiz_id, phones_count)
        phones = [await join(setup, game.pin, f"phone{n}") for n in range(phones_count)]
        assert await host.act(game, "start")
        for number, name in enumerate(only):
            if number:
                while not await host.act(game, "next"):
                    await asyncio.sleep(RETRY_SECONDS)
            runs.append(await run_fault(setup, host, game, phones, name))
            print(json.dumps(runs[-1].__dict__), flush=True)
        await host.close([game])
    finally:
        setup.stop()
    return runs


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=150)
    parser.add_argument("--only", default=",".join(FAULTS))
    parser.add_argument(
        "--setup", choices=[SERVICES_SETUP, EMBEDDED], default=SERVICES_SETUP,
        help="RabbitMQ + PostgreSQL (default), or `make run`'s (SQLite, the built-in broker: "
        "the worker fault only)",
    )  # fmt: skip
    options = parser.parse_args()
    asyncio.run(main(options.phones, options.only.split(","), options.setup))


if __name__ == "__main__":
    cli()
