"""Real Chromium (Debian's package, driven by Playwright) against the live Django server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

# The game tests' fixtures: pytest finds fixtures in the conftest that holds their names.
from game_fixtures import *  # noqa: F403
from game_screens import HOST_LOGIN, QUESTION_SECONDS, QUESTIONS, Screens
from playwright.sync_api import Browser, expect, sync_playwright

from quiz.game.models import Choice, Question, Quiz

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Playwright's sync API keeps an event loop in this thread while it runs; the ORM calls
    made here meanwhile (fixtures, flushes) are plain synchronous ones all the same."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def game_ticker(transactional_db) -> Iterator[None]:
    """The ticker a serving process runs (quiz/wsgi.py): closes questions once everyone has
    answered or their time is up."""
    from quiz.game.ticker import ticker

    ticker.start()
    yield
    ticker.stop()


@pytest.fixture
def answer_consumer(game_broker_settings) -> Iterator[None]:
    """The consumer of the answers pages send over the broker, as every serving process runs
    it (quiz/wsgi.py), on the broker the test's settings name."""
    from quiz.live.answers import AnswerConsumer

    consumer = AnswerConsumer()
    consumer.start()
    yield
    consumer.stop()


@pytest.fixture
def site(live_server, game_ticker, transactional_db) -> str:
    """The live server's URL, with a host account that has a two-question quiz."""
    host = User.objects.create_user(HOST_LOGIN[0], password=HOST_LOGIN[1])
    quiz = Quiz.objects.create(author=host, title="Space and numbers")
    for position, (text, choices) in enumerate(QUESTIONS):
        question = Question.objects.create(
            quiz=quiz, position=position, text=text, time_limit=QUESTION_SECONDS, points=1000
        )
        for index, (choice, correct) in enumerate(choices):
            Choice.objects.create(
                question=question, position=index, text=choice, is_correct=correct
            )
    return live_server.url


@pytest.fixture
def live_site(site: str, request: pytest.FixtureRequest) -> str:
    """The site with Django publishing to, and handing out tokens for, the real broker, and
    consuming the answers pages send over it."""
    request.getfixturevalue("game_broker_settings")
    request.getfixturevalue("answer_consumer")
    return site


@pytest.fixture
def screens(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Screens]:
    """Windows that are closed after the test, which fails if any page threw an error."""
    screens = Screens(browser, request)
    yield screens
    screens.close()
    assert screens.page_errors == []
