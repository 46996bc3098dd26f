"""The host screen shows which players' pages are connected right now (the broker's presence),
in the lobby and on the scoreboard; without presence (RabbitMQ) it marks no one."""

from __future__ import annotations

import pytest
from django.conf import settings
from game_screens import Screens, open_lobby
from playwright.sync_api import expect

# The host hears a closed page's leave as soon as the broker sees its socket close.
SEEN_WITHIN_MS = 5_000


@pytest.fixture
def presence_site(live_site: str) -> str:
    if not settings.STOMP_PRESENCE:
        pytest.skip("this broker has no presence (RabbitMQ): see the test that marks no one")
    return live_site


def test_the_host_sees_a_closed_players_page_offline_then_online_again(
    screens: Screens, presence_site: str
) -> None:
    host, (ann, bob) = open_lobby(screens, presence_site, "Ann", "Bob")
    ann_chip = host.get_by_role("button", name="Kick Ann")
    expect(ann_chip).to_have_attribute("data-presence", "online")
    url, context = ann.url, ann.context
    ann.close()
    expect(ann_chip).to_have_attribute("data-presence", "offline", timeout=SEEN_WITHIN_MS)
    expect(ann_chip).to_contain_text("offline")  # said in words, not by the dimming alone
    expect(host.get_by_role("button", name="Kick Ann (offline)")).to_be_visible()
    expect(host.get_by_role("button", name="Kick Bob")).to_have_attribute("data-presence", "online")

    again = screens.watch(context.new_page())
    again.goto(url)
    expect(ann_chip).to_have_attribute("data-presence", "online", timeout=SEEN_WITHIN_MS)
    expect(ann_chip).not_to_contain_text("offline")

    host.get_by_role("button", name="Start").click()
    again.get_by_role("button", name="Mars").click()
    bob.get_by_role("button", name="Venus").click()
    bob_row = host.locator("#top5 li", has_text="Bob")
    expect(bob_row).to_have_attribute("data-presence", "online")
    bob.close()
    expect(bob_row).to_have_attribute("data-presence", "offline", timeout=SEEN_WITHIN_MS)
    expect(bob_row.locator(".presence")).to_have_text("offline")
    expect(host.locator("#top5 li", has_text="Ann")).to_have_attribute("data-presence", "online")


def test_without_presence_the_host_screen_marks_no_one(
    screens: Screens, live_site: str, settings
) -> None:
    """RabbitMQ's setting (STOMP_PRESENCE off), whichever broker runs: no markers at all,
    rather than everyone shown offline."""
    settings.STOMP_PRESENCE = False
    host, (ann,) = open_lobby(screens, live_site, "Ann")
    expect(host.locator("#connection")).to_have_text("Live")
    chip = host.get_by_role("button", name="Kick Ann")
    expect(chip).to_be_visible()
    expect(host.locator("[data-presence]")).to_have_count(0)
