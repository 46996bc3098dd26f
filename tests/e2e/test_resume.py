"""A page back from a short drop catches up from the broker's history instead of reloading the
game's snapshot; past the history's window, or on RabbitMQ (no history), it reloads it. What
the history replays is old news for the page's clock: its countdown keeps time with the
projector's."""

from __future__ import annotations

import os

from game_screens import (
    QUESTIONS,
    BrokerLink,
    Screens,
    countdown_ends,
    heading,
    lead_in_shown,
    open_lobby,
    watch_for_lead_in,
)
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


def bob_back_from_a_blink_across_next(
    screens: Screens, live_site: str, settings
) -> tuple[Page, Page]:
    """The host, and Bob live again after his phone went offline on the first question's
    results, across the host's Next, until the second question's lead-in was over on the
    projector, watched for the lead-in from before he came back."""
    settings.QUIZ_LEAD_IN_MS = 1_000
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    link = BrokerLink(bob)
    bob.reload()
    host.get_by_role("button", name="Start").click()
    expect(heading(bob, RED_PLANET)).to_be_visible()
    host.get_by_role("button", name="Close now").click()
    expect(bob.locator("#correct-answer")).to_contain_text("Mars")

    link.cut()
    bob.context.set_offline(True)
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    host.get_by_role("button", name="Next question").click()
    expect(host.locator("#question-choices li")).to_have_count(3)  # the lead-in is over
    watch_for_lead_in(bob)
    link.restore()
    bob.context.set_offline(False)  # the browser's `online` event: reconnect now

    expect(bob.locator("#connection")).to_have_text("Live")
    expect(heading(bob, PRIMES)).to_be_visible()
    return host, bob


def test_a_phone_back_from_a_blink_across_next_counts_down_with_the_projector(
    screens: Screens, live_site: str, settings
) -> None:
    host, bob = bob_back_from_a_blink_across_next(screens, live_site, settings)

    assert abs(countdown_ends(bob) - countdown_ends(host)) <= 500


def test_a_phone_back_from_a_blink_after_the_lead_in_does_not_show_the_lead_in_again(
    screens: Screens, live_site: str, settings
) -> None:
    _host, bob = bob_back_from_a_blink_across_next(screens, live_site, settings)

    expect(bob.get_by_role("button", name="Submit answer")).to_be_visible()
    assert lead_in_shown(bob) is False
