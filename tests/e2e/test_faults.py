"""What the room sees through faults: a page says "Live" only on the game's current version
(after a renewal of its token during a drop, after a broker restart that lost the history), a
silent link says "Reconnecting…" within 15 s, and the host is told when the broker is dead
and, once it is back, how many phones came back."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from game_fixtures import (
    ADMIN_LOGIN,
    ADMIN_PASSCODE,
    PUBLISHER_LOGIN,
    PUBLISHER_PASSCODE,
    TOKEN_SECRET,
    game_broker_at,
    point_django_at,
)
from game_screens import QUESTIONS, BrokerLink, Screens, heading, open_lobby
from playwright.sync_api import Page, expect
from real_broker import REPO, BrokerProcess, start_broker

from devtools.processes import spawn, wait_for_port
from quiz.live.broker_config import broker_config

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)
# The outcome's bound: a page whose link went silent says so within this.
SILENCE_SHOWN_WITHIN_MS = 15_000
# A token this short-lived is renewed by the page 6 s after it came (RENEW_BEFORE_EXPIRY_MS).
SHORT_TOKEN_SECONDS = 12
# How long a page may take to come back once the broker is back (jittered backoff).
BACK_WITHIN_MS = 10_000

# From now on, which question (its heading) the page showed each time it started saying
# "Live": a page says "Live" only on the game's current version.
WATCH_LIVE = """() => {
  window.liveOn = [];
  const connection = document.getElementById("connection");
  new MutationObserver(() => {
    if (connection.textContent !== "Live") return;
    const shown = document.querySelector(".screen:not([hidden]) h1");
    window.liveOn.push(shown ? shown.textContent : "");
  }).observe(connection, { childList: true, characterData: true, subtree: true });
}"""


def live_on(page: Page) -> list[str]:
    """The questions `page` showed each time it said "Live" since WATCH_LIVE."""
    return page.evaluate("() => window.liveOn")


class Restartable:
    """A broker of the test's own, which it may kill, restart on the same ports, or freeze."""

    def __init__(self, broker: BrokerProcess) -> None:
        self.broker = broker

    def kill(self) -> None:
        self.broker.process.kill()
        self.broker.process.wait()

    def restart(self) -> None:
        """The same command again: the same ports and config, an empty history."""
        process = self.broker.process
        self.broker.process = spawn(
            list(process.args), cwd=REPO, env=dict(os.environ), log=self.broker.log_path
        )
        for port in (self.broker.tcp_port, self.broker.ws_port):
            wait_for_port(self.broker.process, port, 15.0)

    def freeze(self) -> None:
        """SIGSTOP: its sockets stay open and say nothing, as behind a TCP blackhole."""
        self.broker.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.broker.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_broker(site: str, settings, tmp_path: Path) -> Iterator[Restartable]:
    """A broker for this test alone (the game's config), with Django pointed at it."""
    toml = broker_config(
        publisher=(PUBLISHER_LOGIN, PUBLISHER_PASSCODE),
        admin=(ADMIN_LOGIN, ADMIN_PASSCODE),
        token_secret=TOKEN_SECRET,
    )
    with start_broker(tmp_path / "broker", toml=toml, args=()) as broker:
        point_django_at(game_broker_at(broker), settings)
        restartable = Restartable(broker)
        yield restartable
        restartable.thaw()


def test_a_phone_back_through_a_token_renewal_says_live_only_on_the_current_question(
    screens: Screens, live_site: str, settings
) -> None:
    """Bob's connection is refused across the close, the next question and his page's
    renewal of its token; when he is back, "Live" comes with the second question."""
    settings.STOMP_TOKEN_TTL_SECONDS = SHORT_TOKEN_SECONDS
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    link = BrokerLink(bob)
    bob.reload()
    host.get_by_role("button", name="Start").click()
    expect(heading(bob, RED_PLANET)).to_be_visible()
    bob.evaluate(WATCH_LIVE)
    link.cut()
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    host.get_by_role("button", name="Close now").click()
    host.get_by_role("button", name="Next question").click()
    expect(heading(host, PRIMES)).to_be_visible()
    # Let through after three refusals: where the page waited 1, 2, 4, then 8 s between
    # tries, fetching a token for each, its renewal's second connection came through first.
    while link.refused < 3:
        bob.wait_for_timeout(200)
    link.restore()

    expect(heading(bob, PRIMES)).to_be_visible(timeout=3 * SHORT_TOKEN_SECONDS * 1000)
    expect(bob.locator("#connection")).to_have_text("Live")
    assert set(live_on(bob)) == {PRIMES}


def test_a_phone_back_after_a_broker_restart_says_live_only_on_the_current_question(
    screens: Screens, site: str, own_broker: Restartable
) -> None:
    host, (bob,) = open_lobby(screens, site, "Bob")
    host.get_by_role("button", name="Start").click()
    expect(heading(bob, RED_PLANET)).to_be_visible()
    bob.evaluate(WATCH_LIVE)
    own_broker.kill()
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    host.get_by_role("button", name="Close now").click()
    host.get_by_role("button", name="Next question").click()
    expect(heading(host, PRIMES)).to_be_visible()
    own_broker.restart()

    expect(bob.locator("#connection")).to_have_text("Live", timeout=BACK_WITHIN_MS)
    expect(heading(bob, PRIMES)).to_be_visible()
    assert set(live_on(bob)) == {PRIMES}


def test_a_silent_link_says_reconnecting_within_15_s_and_comes_back(
    screens: Screens, site: str, own_broker: Restartable
) -> None:
    _host, (bob,) = open_lobby(screens, site, "Bob")
    expect(bob.locator("#connection")).to_have_text("Live")
    own_broker.freeze()

    expect(bob.locator("#connection")).to_have_text(
        "Reconnecting…", timeout=SILENCE_SHOWN_WITHIN_MS
    )
    own_broker.thaw()
    expect(bob.locator("#connection")).to_have_text("Live", timeout=BACK_WITHIN_MS)


def test_the_host_is_told_while_the_broker_is_dead_and_how_many_phones_came_back(
    screens: Screens, site: str, own_broker: Restartable
) -> None:
    host, (ann, bob) = open_lobby(screens, site, "Ann", "Bob")
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()
    host.get_by_role("button", name="Close now").click()
    expect(ann.locator("#correct-answer")).to_contain_text("Mars")
    own_broker.kill()

    expect(host.locator("#broker-warning")).to_be_visible()
    bob.close()  # Bob's phone does not come back
    own_broker.restart()
    expect(host.locator("#broker-warning")).to_be_hidden(timeout=BACK_WITHIN_MS)
    expect(host.locator("#phones-back")).to_have_text(
        re.compile(r"^1 of 2 phones back"), timeout=BACK_WITHIN_MS
    )
    expect(ann.locator("#connection")).to_have_text("Live", timeout=BACK_WITHIN_MS)
