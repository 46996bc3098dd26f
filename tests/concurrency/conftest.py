"""The site as it runs in production: gunicorn with 4 workers on a fresh PostgreSQL database,
publishing to a real broker; and browsers that talk to it over HTTP, each with its own cookies.

PostgreSQL is the one of `make services` (127.0.0.1:5432, user and password `quiz`). Without it
these tests skip, or fail when QUIZ_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

# The game tests' fixtures: pytest finds fixtures in the conftest that holds their names.
from game_fixtures import *  # noqa: F403
from live_site import Browser, Site
from real_broker import REPO, manage

from devtools.processes import free_port, spawn, terminate, wait_for_port

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "quiz", "password": "quiz"}
WORKERS = 4
HOST_USERNAME, HOST_PASSWORD = "host", "host-password-123"
STARTUP_TIMEOUT_SECONDS = 30.0


def postgres_admin() -> psycopg.Connection:
    """A connection to the `quiz` database that can create and drop databases; or skip/fail."""
    try:
        return psycopg.connect(**POSTGRES, dbname="quiz", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES['host']}:{POSTGRES['port']} "
            f"as quiz/quiz ({error}). "
            "Run `make services` (as root)."
        )
        if os.environ.get("QUIZ_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own, `quiz_test_<random>`, dropped afterwards."""
    name = f"quiz_test_{secrets.token_hex(4)}"
    with postgres_admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield (
                f"postgres://{POSTGRES['user']}:{POSTGRES['password']}@"
                f"{POSTGRES['host']}:{POSTGRES['port']}/{name}"
            )
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def database(postgres_url: str) -> Iterator[psycopg.Connection]:
    """The test database, to read what the site recorded."""
    with psycopg.connect(
        postgres_url.replace("postgres://", "postgresql://"), autocommit=True
    ) as conn:
        yield conn


LONG_TIME_LIMIT = 60  # no deadline passes during a test
SHORT_TIME_LIMIT = 5  # the shortest a question may have


def quiz(title: str, time_limit: int) -> dict:
    return {
        "title": title,
        "questions": [
            {
                "text": f"Question {n}",
                "time_limit": time_limit,
                "points": 1000,
                "choices": [
                    {"text": "right", "correct": True},
                    {"text": "wrong", "correct": False},
                ],
            }
            for n in (1, 2)
        ],
    }


QUIZZES = {
    "long": quiz("Under load", LONG_TIME_LIMIT),
    "short": quiz("Against the clock", SHORT_TIME_LIMIT),
}


@pytest.fixture(scope="session")
def site(
    postgres_url: str, game_broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """migrate, collectstatic, a host with two quizzes (questions of 60 s and of 5 s), then
    gunicorn with 4 workers; stopped after."""
    directory = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_hex(32),
        "STATIC_ROOT": str(directory / "static"),
        "STOMP_HOST": game_broker.tcp_host,
        "STOMP_PORT": str(game_broker.tcp_port),
        "STOMP_LOGIN": game_broker.login,
        "STOMP_PASSCODE": game_broker.passcode,
        "STOMP_WS_URL": game_broker.ws_url,
        "STOMP_TOKEN_SECRET": game_broker.token_secret,
        "DJANGO_SUPERUSER_PASSWORD": HOST_PASSWORD,
        # every player joins from this machine's address, and answers as a question opens
        "QUIZ_JOINS_PER_MINUTE": "1000000",
        "QUIZ_LEAD_IN_MS": "0",
    }
    with ThreadPoolExecutor() as pool:  # independent; each starts Django, which takes a while
        list(
            pool.map(
                lambda command: manage(command, "--noinput", env=env), ["migrate", "collectstatic"]
            )
        )
    manage(
        "createsuperuser",
        "--noinput",
        "--username",
        HOST_USERNAME,
        "--email",
        "host@example.com",
        env=env,
    )
    quiz_ids = {}
    for name, content in QUIZZES.items():
        (directory / f"{name}.json").write_text(json.dumps(content))
        imported = manage(
            "import_quiz", str(directory / f"{name}.json"), "--author", HOST_USERNAME, env=env
        )
        quiz_ids[name] = int(imported.split()[2].rstrip(":"))  # "Imported quiz 1: Under load"

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log, access_log = directory / "gunicorn.log", directory / "access.log"
    gunicorn = [sys.executable, "-m", "gunicorn", "quiz.wsgi", "--workers", str(WORKERS)]
    gunicorn += ["--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    gunicorn += [
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(m)s %(U)s %(M)s",
    ]
    process = spawn(gunicorn, cwd=REPO, env=env, log=log)
    try:
        wait_for_port(
            process, port, STARTUP_TIMEOUT_SECONDS, describe=lambda: f":\n{log.read_text()}"
        )
        yield Site(url, quiz_ids, access_log)
    finally:
        terminate(process)


@pytest.fixture(scope="session")
def host(site: Site) -> Browser:
    """The quiz's author, logged in."""
    browser = Browser(site.url)
    browser.get("/accounts/login/")
    reply = browser.post_form(
        "/accounts/login/", {"username": HOST_USERNAME, "password": HOST_PASSWORD}
    )
    assert reply.status == 302, reply.body[:500]
    return browser
