"""A page back from a short drop catches up from the broker's history instead of reloading the
game's snapshot; past the history's window, or on RabbitMQ (no history), it reloads it."""

from __future__ import annotations

import os

from game_screens import QUESTIONS, BrokerLink, Screens, heading, open_lobby
from playwright.sync_api import Page, expect

from quiz import live
from quiz.live.broker_config import STATUS_HISTORY_MESSAGES

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)
# RabbitMQ's topics keep no history: there the page must fall back to the snapshot.
BROKER_KEEPS_HISTORY = os.environ.get("QUIZ_TEST_BROKER") != "rabbitmq"


def bob_cut_off_on_the_first_question(
    screens: Screens, live_site: str
) -> tuple[Page, Page, BrokerLink, list[str]]:
    """The host, and Bob on the first question (a status frame with its offset) with his
    broker link cut, and the URLs his page requests from then on."""
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    link = BrokerLink(bob)
    bob.reload()
    host.get_by_role("button", name="Start").click()
    expect(heading(bob, RED_PLANET)).to_be_visible()
    link.cut()
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    requested: list[str] = []
    bob.on("request", lambda request: requested.append(request.url))
    return host, bob, link, requested


def test_a_player_back_from_a_short_drop_catches_up_without_the_snapshot(
    screens: Screens, live_site: str
) -> None:
    host, bob, link, requested = bob_cut_off_on_the_first_question(screens, live_site)
    host.get_by_role("button", name="Close now").click()
    host.get_by_role("button", name="Next question").click()
    expect(heading(host, PRIMES)).to_be_visible()
    link.restore()

    expect(heading(bob, PRIMES)).to_be_visible()
    expect(bob.locator("#connection")).to_have_text("Live")
    snapshots = [url for url in requested if "/snapshot/" in url]
    assert bool(snapshots) is not BROKER_KEEPS_HISTORY


def test_a_player_back_from_a_drop_longer_than_the_history_reloads_the_snapshot(
    screens: Screens, live_site: str
) -> None:
    host, bob, link, requested = bob_cut_off_on_the_first_question(screens, live_site)
    status = bob.evaluate(
        "JSON.parse(document.getElementById('game-config').textContent).topics.status"
    )
    host.get_by_role("button", name="Close now").click()
    expect(host.locator(".game")).to_have_attribute("data-phase", "question_closed")
    # Old news every page drops (version 0), enough to push the close out of the history.
    for _ in range(STATUS_HISTORY_MESSAGES):
        live.get_backend().publish(status, {"version": 0, "type": "question_closed"})
    link.restore()

    expect(bob.locator("#correct-answer")).to_contain_text("Mars")
    expect(bob.locator("#connection")).to_have_text("Live")
    assert [url for url in requested if "/snapshot/" in url] != []
