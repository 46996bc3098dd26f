"""A host and players in separate browsers play through the real broker, as people would."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

from django.db.models import F
from game_screens import QUESTIONS, BrokerLink, Screens, heading, open_lobby
from playwright.sync_api import expect

from quiz.game.models import Game

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_whole_game_plays_live_on_every_screen(screens: Screens, live_site: str) -> None:
    host, (ann, bob) = open_lobby(screens, live_site, "Ann", "Bob")
    expect(host.locator("#player-count")).to_have_text("2")
    screens.shoot("lobby", host=host, player=ann)

    host.get_by_role("button", name="Start").click()
    for page in (host, ann, bob):
        expect(heading(page, RED_PLANET)).to_be_visible()
    expect(host.locator("#answer-count")).to_have_text("0 / 2")
    expect(host.locator("#countdown")).to_have_text(re.compile(r"^\d+$"))
    expect(ann.get_by_role("button", name="Saturn")).to_contain_text("■")
    screens.shoot("question-1", host=host, player=ann)

    ann.get_by_role("button", name="Mars").click()
    expect(ann.get_by_text("Answer sent")).to_be_visible()
    expect(host.locator("#answer-count")).to_have_text("1 / 2")
    bob.get_by_role("button", name="Venus").click()

    expect(heading(host, "Top 5")).to_be_visible()
    expect(host.locator("#distribution li", has_text="Mars")).to_contain_text("✓ correct")
    expect(host.locator("#distribution li", has_text="Venus")).not_to_contain_text("correct")
    expect(host.locator("#top5 li").first).to_contain_text("Ann")
    expect(heading(ann, "Correct!")).to_be_visible()
    expect(ann.locator("#points-won")).to_have_text(re.compile(r"^\+[1-9]\d* points$"))
    expect(ann.locator("#result-rank")).to_have_text(re.compile(r"^1st, [1-9]\d* ahead of Bob$"))
    expect(heading(bob, "Wrong")).to_be_visible()
    expect(bob.locator("#points-won")).to_have_text("+0 points")
    screens.shoot("results-1", host=host, player=ann)
    ann_score = ann.locator("#me-score").inner_text()

    host.get_by_role("button", name="Next question").click()
    for page in (host, ann, bob):
        expect(heading(page, PRIMES)).to_be_visible()
    ann.reload()
    expect(heading(ann, PRIMES)).to_be_visible()
    expect(ann.locator("#me-score")).to_have_text(ann_score)
    ann.get_by_role("button", name="2", exact=True).click()
    ann.get_by_role("button", name="3", exact=True).click()
    ann.get_by_role("button", name="Submit answer").click()
    expect(ann.get_by_text("Answer sent")).to_be_visible()
    expect(host.locator("#answer-count")).to_have_text("1 / 2")
    screens.shoot("question-2", host=host, player=bob)

    host.get_by_role("button", name="Close now").click()
    expect(heading(ann, "Correct!")).to_be_visible()
    expect(heading(bob, "No answer")).to_be_visible()
    expect(host.get_by_role("button", name="Show podium")).to_be_visible()

    host.get_by_role("button", name="Show podium").click()
    expect(host.locator("#podium .place-1")).to_contain_text("Ann")
    expect(host.locator("#podium .place-2")).to_contain_text("Bob")
    expect(host.locator("#final-table tbody tr")).to_have_count(2)
    expect(host.get_by_role("link", name="Results (CSV)")).to_be_visible()
    expect(ann.locator("#my-place")).to_contain_text("You finished 1st of 2")
    expect(bob.locator("#my-place")).to_contain_text("You finished 2nd of 2")
    screens.shoot("podium", host=host, player=bob)


def test_a_second_answer_from_another_tab_shows_why_it_was_refused(
    screens: Screens, live_site: str
) -> None:
    host, (ann, _bob) = open_lobby(screens, live_site, "Ann", "Bob")
    host.get_by_role("button", name="Start").click()
    second_tab = screens.another_tab(ann)
    expect(heading(second_tab, RED_PLANET)).to_be_visible()
    # the second tab shows the game as it is before Ann answers in the first (on RabbitMQ,
    # which resumes nothing, it loads the snapshot once subscribed: "Live" only after)
    expect(second_tab.locator("#connection")).to_have_text("Live")
    expect(second_tab.get_by_role("button", name="Venus")).to_be_enabled()

    ann.get_by_role("button", name="Mars").click()
    expect(ann.get_by_text("Answer sent")).to_be_visible()
    second_tab.get_by_role("button", name="Venus").click()

    expect(second_tab.get_by_role("status")).to_have_text(
        "You have already answered this question."
    )
    expect(second_tab.get_by_text("Answer sent")).to_be_visible()
    screens.shoot("refused", player=second_tab)


def test_a_player_who_lost_the_connection_catches_up_on_reconnect(
    screens: Screens, live_site: str
) -> None:
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    link = BrokerLink(bob)
    bob.reload()
    expect(bob.locator("#connection")).to_have_text("Live")

    link.cut()
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    host.get_by_role("button", name="Start").click()
    expect(heading(host, RED_PLANET)).to_be_visible()
    link.restore()

    expect(heading(bob, RED_PLANET)).to_be_visible()
    expect(bob.locator("#connection")).to_have_text("Live")


def test_a_player_who_missed_a_frame_reloads_the_game(screens: Screens, live_site: str) -> None:
    host, (ann, bob) = open_lobby(screens, live_site, "Ann", "Bob")
    link = BrokerLink(bob, lose='"type":"question_open"')
    bob.reload()
    expect(bob.locator("#connection")).to_have_text("Live")
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()

    host.get_by_role("button", name="Close now").click()

    expect(bob.locator("#verdict")).to_have_text("No answer")
    expect(bob.locator("#correct-answer")).to_contain_text("Mars")
    assert len(link.lost) == 1


def test_players_who_leave_or_are_kicked_drop_out_of_the_lobby(
    screens: Screens, live_site: str
) -> None:
    host, (ann, bob) = open_lobby(screens, live_site, "Ann", "Bob")
    lobby = host.get_by_role("list", name="Players")

    ann.once("dialog", lambda dialog: dialog.accept())
    ann.get_by_role("button", name="Leave").click()
    host.once("dialog", lambda dialog: dialog.accept())
    host.get_by_role("button", name="Kick Bob").click()

    expect(heading(ann, "Join a game")).to_be_visible()
    expect(heading(bob, "You were removed")).to_be_visible()
    expect(lobby.get_by_role("listitem")).to_have_count(0)
    expect(host.locator("#player-count")).to_have_text("0")


def test_a_player_sees_the_game_while_the_broker_is_unreachable(
    screens: Screens, site: str, settings
) -> None:
    settings.STOMP_WS_URL = f"ws://127.0.0.1:{closed_port()}/ws"
    settings.STOMP_PORT = closed_port()
    host = screens.host(site)

    ann = screens.player(host.locator("#join-link").inner_text(), "Ann")

    expect(ann.locator("#connection")).to_have_text("Reconnecting…")
    expect(ann.locator(".nickname")).to_have_text("Ann")


def test_a_kicked_player_whose_kick_frame_was_lost_is_stopped_at_its_token_renewal(
    screens: Screens, live_site: str, settings
) -> None:
    settings.STOMP_TOKEN_TTL_SECONDS = 4  # renewed after 2 s
    # No management API to cut the page off either: else the cut may beat the frame to the
    # page, and the page is stopped by its reconnect instead of its renewal.
    settings.STOMP_ADMIN_URL = f"http://127.0.0.1:{closed_port()}/"
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    link = BrokerLink(bob, lose='"type":"player_kicked"')
    bob.reload()
    expect(bob.locator("#connection")).to_have_text("Live")

    host.once("dialog", lambda dialog: dialog.accept())

    host.get_by_role("button", name="Kick Bob").click()

    expect(heading(bob, "You were removed")).to_be_visible()
    assert len(link.lost) == 1


def test_a_token_renewal_keeps_the_page_live_without_reloading_the_game(
    screens: Screens, live_site: str, settings
) -> None:
    settings.STOMP_TOKEN_TTL_SECONDS = 4  # renewed every 2 s
    host, (ann,) = open_lobby(screens, live_site, "Ann")
    ann.reload()
    expect(ann.locator("#connection")).to_have_text("Live")
    requested: list[str] = []
    ann.on("request", lambda request: requested.append(request.url))
    for _ in range(2):  # two renewals: the first has reconnected when the second begins
        with ann.expect_request(lambda request: "/token/" in request.url, timeout=10_000):
            pass

    host.get_by_role("button", name="Start").click()

    expect(heading(ann, RED_PLANET)).to_be_visible()
    assert [url for url in requested if "/snapshot/" in url] == []


# What a hostile page does instead of the game's own script: takes its player's token and
# holds a STOMP connection of its own under a made-up login, subscribed to the game (through a
# queue named as the token allows, which RabbitMQ insists on), ignoring `player_kicked`.
# Resolves to whether the broker confirmed the subscription.
RAW_CLIENT = """async () => {
  const config = JSON.parse(document.getElementById("game-config").textContent);
  const { token, queue_prefix: prefix } = await (await fetch(config.urls.token)).json();
  const raw = { frames: [], closed: false };
  window.rawClient = raw;
  const ws = new WebSocket(config.ws_url, ["v12.stomp"]);
  ws.onmessage = (event) => raw.frames.push(event.data);
  ws.onclose = () => { raw.closed = true; };
  await new Promise((resolve) => { ws.onopen = resolve; });
  ws.send(`CONNECT\\naccept-version:1.2\\nheart-beat:0,0\\nlogin:made-up\\npasscode:${token}\\n\\n\\0`);
  const topic = config.topics.status;
  ws.send(`SUBSCRIBE\\nid:raw\\ndestination:${topic}\\nx-queue-name:${prefix}raw\\nreceipt:subscribed\\n\\n\\0`);
  const confirmed = () => raw.frames.some((frame) => frame.includes("RECEIPT"));
  while (!raw.closed && !confirmed()) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return confirmed();
}"""
# Cut off: the connection closed, or (RabbitMQ, under a made-up login) its subscription
# cancelled with an ERROR frame.
# A function, not an expression: Playwright evaluates an expression with eval, which the
# pages' Content-Security-Policy refuses.
RAW_CLIENT_CUT_OFF = (
    "() => window.rawClient.closed || window.rawClient.frames.some((f) => f.includes('ERROR'))"
)


def test_a_kicked_players_own_connection_that_ignores_the_kick_is_cut_off(
    screens: Screens, live_site: str
) -> None:
    host, (ann, bob) = open_lobby(screens, live_site, "Ann", "Bob")
    assert bob.evaluate(RAW_CLIENT) is True

    host.once("dialog", lambda dialog: dialog.accept())  # "Kick Bob?"
    host.get_by_role("button", name="Kick Bob").click()

    bob.wait_for_function(RAW_CLIENT_CUT_OFF, timeout=5_000)
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()
    assert not any("question_open" in frame for frame in bob.evaluate("window.rawClient.frames"))


def test_a_kicked_browser_cannot_join_again_under_another_nickname(
    screens: Screens, live_site: str
) -> None:
    host, (bob,) = open_lobby(screens, live_site, "Bob")
    host.once("dialog", lambda dialog: dialog.accept())
    host.once("dialog", lambda dialog: dialog.accept())
    host.get_by_role("button", name="Kick Bob").click()
    expect(heading(bob, "You were removed")).to_be_visible()

    bob.goto(host.locator("#join-link").inner_text())
    bob.get_by_label("Nickname").fill("Robert")
    bob.get_by_role("button", name="Join").click()

    expect(bob.get_by_role("alert")).to_have_text("The host removed you from this game.")
    expect(host.get_by_role("list", name="Players").get_by_role("listitem")).to_have_count(0)


def test_the_host_screen_says_when_frames_cannot_reach_the_players(
    screens: Screens, site: str, settings
) -> None:
    from quiz import live

    settings.STOMP_WS_URL = f"ws://127.0.0.1:{closed_port()}/ws"
    settings.STOMP_PORT = closed_port()
    live.get_backend().close()  # one left open to another test's broker
    host = screens.host(site)

    expect(host.locator("#broker-warning")).to_be_visible()
    expect(host.locator("#broker-warning")).to_contain_text("Players' screens are not being")


def test_a_player_who_goes_offline_sees_it_and_cannot_answer_until_back(
    screens: Screens, live_site: str
) -> None:
    # Bob keeps the question open after Ann's answer (everyone answered would close it at once)
    host, (ann, _bob) = open_lobby(screens, live_site, "Ann", "Bob")
    link = BrokerLink(ann)
    ann.reload()
    expect(ann.locator("#connection")).to_have_text("Live")
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()

    link.cut()
    ann.context.set_offline(True)

    expect(ann.locator("#offline")).to_be_visible()
    expect(ann.get_by_role("button", name="Mars")).to_be_disabled()
    expect(ann.locator("#countdown")).to_have_class(re.compile(r"\bcountdown-paused\b"))
    screens.shoot("offline", player=ann)

    link.restore()
    ann.context.set_offline(False)

    expect(ann.locator("#offline")).to_be_hidden()
    expect(ann.get_by_role("button", name="Mars")).to_be_enabled()
    expect(ann.locator("#countdown")).not_to_have_class(re.compile(r"\bcountdown-paused\b"))
    ann.get_by_role("button", name="Mars").click()
    expect(ann.get_by_text("Answer sent")).to_be_visible()


def test_a_page_reconnects_as_soon_as_the_browser_is_online_again(
    screens: Screens, live_site: str
) -> None:
    _host, (ann,) = open_lobby(screens, live_site, "Ann")
    link = BrokerLink(ann)
    ann.reload()
    expect(ann.locator("#connection")).to_have_text("Live")

    link.cut()
    while link.refused < 3:  # stompjs backs off 1, 2, then 4 s: its next try is 8 s away
        ann.wait_for_timeout(100)
    link.restore()
    ann.context.set_offline(True)
    ann.context.set_offline(False)  # the browser's `online` event

    expect(ann.locator("#connection")).to_have_text("Live", timeout=4_000)


def test_a_second_host_tab_shows_no_error_for_a_kick_the_first_just_did(
    screens: Screens, live_site: str
) -> None:
    host, _players = open_lobby(screens, live_site, "Ann")
    second = screens.another_tab(host)
    link = BrokerLink(second)  # the second tab hears nothing of what the first does
    second.reload()
    expect(second.get_by_role("button", name="Kick Ann")).to_be_visible()
    link.cut()

    host.once("dialog", lambda dialog: dialog.accept())

    host.once("dialog", lambda dialog: dialog.accept())
    host.get_by_role("button", name="Kick Ann").click()
    expect(host.get_by_role("button", name="Kick Ann")).to_be_hidden()
    second.once("dialog", lambda dialog: dialog.accept())
    second.get_by_role("button", name="Kick Ann").click()

    expect(second.get_by_role("button", name="Kick Ann")).to_be_hidden()
    expect(second.locator("#status")).to_have_text("")
    expect(second.locator("#status")).not_to_have_class(re.compile("status-error"))


def test_pages_name_an_icon_that_loads(screens: Screens, live_site: str) -> None:
    page = screens.window()
    page.goto(live_site)
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert page.request.get(f"{live_site}{icon}").status == 200


def test_a_question_shows_alone_during_its_lead_in_then_its_answers(
    screens: Screens, live_site: str, settings
) -> None:
    settings.QUIZ_LEAD_IN_MS = 3000
    host, (ann,) = open_lobby(screens, live_site, "Ann")
    host.get_by_role("button", name="Start").click()

    for page in (host, ann):
        expect(heading(page, RED_PLANET)).to_be_visible()
        expect(page.locator("#question-progress")).to_have_text("Question 1 of 2")
        expect(page.locator("#countdown")).to_be_hidden()  # no empty circle
        lead_in = page.get_by_role("progressbar", name="Get ready")
        expect(lead_in).to_be_visible()
        expect(lead_in).not_to_have_attribute("aria-valuenow", "0")  # it fills up
    expect(ann.get_by_text("Get ready…")).to_be_visible()
    screens.shoot("lead-in", host=host, player=ann)
    expect(ann.get_by_role("button", name="Mars")).to_have_count(0)
    expect(host.locator("#question-choices li")).to_have_count(0)

    expect(ann.get_by_role("button", name="Mars")).to_be_visible()
    expect(host.locator("#question-choices li")).to_have_count(4)
    for page in (host, ann):
        expect(page.get_by_role("progressbar", name="Get ready")).to_be_hidden()
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+$"))
    ann.get_by_role("button", name="Mars").click()
    expect(heading(ann, "Correct!")).to_be_visible()


def test_the_scoreboard_shows_who_moved_up_and_down_even_after_a_reload(
    screens: Screens, live_site: str
) -> None:
    host, (ann, bob) = open_lobby(screens, live_site, "Ann", "Bob")
    host.get_by_role("button", name="Start").click()
    expect(heading(bob, RED_PLANET)).to_be_visible()
    ann.get_by_role("button", name="Venus").click()
    _answer_later(seconds=8)  # Bob: right, but slowly: fewer points than Ann's fast one next
    bob.get_by_role("button", name="Mars").click()
    expect(host.locator("#top5 li").first).to_contain_text("Bob")

    host.get_by_role("button", name="Next question").click()
    expect(heading(ann, PRIMES)).to_be_visible()
    ann.get_by_role("button", name="2", exact=True).click()
    ann.get_by_role("button", name="3", exact=True).click()
    ann.get_by_role("button", name="Submit answer").click()
    bob.get_by_role("button", name="4", exact=True).click()
    bob.get_by_role("button", name="Submit answer").click()
    rows = host.locator("#top5 li")
    expect(rows.first).to_contain_text("Ann")
    expect(rows.first.locator(".moved")).to_have_text("▲1")
    expect(rows.nth(1).locator(".moved")).to_have_text("▼1")

    host.reload()
    expect(rows.first.locator(".moved")).to_have_text("▲1")
    expect(rows.nth(1).locator(".moved")).to_have_text("▼1")


def _answer_later(*, seconds: int) -> None:
    """As if the open question had been showing its answers `seconds` longer: the server times
    an answer from the question's opening, so the next answer counts as that much slower,
    without the test waiting for it."""
    Game.objects.filter(state=Game.State.QUESTION_OPEN).update(
        opened_at=F("opened_at") - timedelta(seconds=seconds)
    )
