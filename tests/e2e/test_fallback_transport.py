"""Where WebSockets are blocked, a player's page falls back by itself to the broker's
Server-Sent Events, plays the game through them, and says which transport it uses."""

from __future__ import annotations

import os
import re

import pytest
from game_screens import PHONE, QUESTIONS, Screens, countdown_ends
from playwright.sync_api import Page, expect
from test_game import heading

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)

pytestmark = pytest.mark.skipif(
    os.environ.get("QUIZ_TEST_BROKER") == "rabbitmq",
    reason="RabbitMQ has no HTTP subscribers: the site offers no fallback there",
)


def blocked_player(screens: Screens, join_url: str, nickname: str) -> Page:
    """A phone on a network that lets no WebSocket through, joined as `nickname`."""
    page = screens.window(**PHONE)
    page.route_web_socket(re.compile(r"/ws$"), lambda socket: socket.close())
    page.goto(join_url)
    page.get_by_label("Nickname").fill(nickname)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="You're in!")).to_be_visible()
    return page


def test_a_player_whose_websockets_are_blocked_plays_over_the_http_fallback(
    screens: Screens, live_site: str
) -> None:
    host = screens.host(live_site)
    ann = blocked_player(screens, host.locator("#join-link").inner_text(), "Ann")
    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")

    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()
    ann.get_by_role("button", name="Mars").click()
    expect(ann.locator("#verdict")).to_have_text("Correct!")

    host.get_by_role("button", name="Next question").click()
    expect(heading(ann, PRIMES)).to_be_visible()
    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")


def test_a_player_whose_websockets_work_names_no_fallback(screens: Screens, live_site: str) -> None:
    host = screens.host(live_site)
    bob = screens.player(host.locator("#join-link").inner_text(), "Bob")
    expect(bob.locator("#connection")).to_have_text("Live")


def test_a_page_on_the_fallback_renews_its_token_without_reloading_the_game(
    screens: Screens, live_site: str, settings
) -> None:
    settings.STOMP_TOKEN_TTL_SECONDS = 4  # renewed every 2 s, each held request ends with it
    host = screens.host(live_site)
    ann = blocked_player(screens, host.locator("#join-link").inner_text(), "Ann")
    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")
    requested: list[str] = []
    ann.on("request", lambda request: requested.append(request.url))
    for _ in range(2):
        with ann.expect_request(lambda request: "/token/" in request.url, timeout=10_000):
            pass

    host.get_by_role("button", name="Start").click()

    expect(heading(ann, RED_PLANET)).to_be_visible()
    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")
    assert [url for url in requested if "/snapshot/" in url] == []


def test_a_phone_on_the_fallback_back_from_a_blink_across_next_counts_down_with_the_projector(
    screens: Screens, live_site: str, settings
) -> None:
    settings.QUIZ_LEAD_IN_MS = 1_000
    host = screens.host(live_site)
    ann = blocked_player(screens, host.locator("#join-link").inner_text(), "Ann")
    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()
    host.get_by_role("button", name="Close now").click()
    expect(ann.locator("#correct-answer")).to_contain_text("Mars")
    ann.context.set_offline(True)
    expect(ann.locator("#connection")).to_have_text("Reconnecting…")
    host.get_by_role("button", name="Next question").click()
    expect(host.locator("#question-choices li")).to_have_count(3)  # the lead-in is over
    ann.context.set_offline(False)  # the browser's `online` event: reopen the streams now

    expect(ann.locator("#connection")).to_have_text("Live (fallback: HTTP)")
    expect(heading(ann, PRIMES)).to_be_visible()
    assert abs(countdown_ends(ann) - countdown_ends(host)) <= 500
