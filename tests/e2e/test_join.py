"""A join is one request: the join POST answers with the play page, the player's snapshot and
first broker token in it, and the phone asks the site nothing more before the first question.
A frame published before the page subscribed comes from the broker's history (on RabbitMQ,
which keeps none, from the snapshot the page then loads)."""

from __future__ import annotations

import os

from game_screens import PHONE, QUESTIONS, BrokerLink, Screens, heading
from playwright.sync_api import Page, expect

RED_PLANET = QUESTIONS[0][0]
BROKER_KEEPS_HISTORY = os.environ.get("QUIZ_TEST_BROKER") != "rabbitmq"


def site_requests(page: Page, base_url: str) -> list[str]:
    """From now on, every request `page` makes to the site but for its static files, as
    "METHOD path"."""
    requests: list[str] = []

    def note(request) -> None:
        if request.url.startswith(base_url) and "/static/" not in request.url:
            requests.append(f"{request.method} {request.url.removeprefix(base_url)}")

    page.on("request", note)
    return requests


def broker_connections(page: Page) -> list[str]:
    """From now on, the address of every WebSocket `page` opens (a page the broker refused
    with an ERROR opens another)."""
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    return sockets


def at_the_join_form(screens: Screens, live_site: str) -> tuple[Page, Page]:
    """The host's lobby, and a phone that opened the game's join link."""
    host = screens.host(live_site)
    phone = screens.window(**PHONE)
    phone.goto(host.locator("#join-link").inner_text())
    return host, phone


def join_as_bob(phone: Page) -> None:
    phone.get_by_label("Nickname").fill("Bob")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_role("heading", name="You're in!")).to_be_visible()


def test_the_join_link_opens_the_static_form_with_its_pin_and_the_cursor_on_the_nickname(
    screens: Screens, live_site: str
) -> None:
    host, phone = at_the_join_form(screens, live_site)
    pin = host.locator("#join-link").inner_text().rsplit("pin=", 1)[1]

    expect(phone.get_by_label("Game PIN")).to_have_value(pin)
    expect(phone.get_by_label("Nickname")).to_be_focused()
    assert phone.evaluate("location.pathname") == "/"


def test_a_player_joins_with_one_request_and_sees_the_first_question(
    screens: Screens, live_site: str
) -> None:
    host, phone = at_the_join_form(screens, live_site)
    requests = site_requests(phone, live_site)
    sockets = broker_connections(phone)

    join_as_bob(phone)
    expect(phone.locator("#connection")).to_have_text("Live")
    host.get_by_role("button", name="Start").click()

    expect(heading(phone, RED_PLANET)).to_be_visible()
    snapshot_loads = [] if BROKER_KEEPS_HISTORY else [f"GET /api/games/{game_id(phone)}/snapshot/"]
    assert requests == ["POST /join/", *snapshot_loads]
    # one connection: RabbitMQ refuses a replay on a topic with an ERROR (then a reconnect)
    assert len(sockets) == 1


def test_a_joined_player_who_reloads_sees_the_game_and_is_not_joined_again(
    screens: Screens, live_site: str
) -> None:
    _, phone = at_the_join_form(screens, live_site)
    join_as_bob(phone)
    requests = site_requests(phone, live_site)

    phone.reload()

    expect(phone.get_by_role("heading", name="You're in!")).to_be_visible()
    expect(phone.locator("#connection")).to_have_text("Live")
    play, snapshot = f"GET /play/{game_id(phone)}/", f"GET /api/games/{game_id(phone)}/snapshot/"
    assert requests[0] == play
    assert not any(request.startswith("POST") for request in requests)  # not joined again
    if BROKER_KEEPS_HISTORY:
        assert requests == [play]  # the broker's history, not a snapshot, covers the reload
    else:
        # RabbitMQ keeps no history: a snapshot once subscribed (and again after each
        # reconnect, which a loaded machine's Web-STOMP sometimes makes the page do)
        assert set(requests[1:]) == {snapshot}


def test_a_question_opened_before_the_page_subscribed_still_reaches_it(
    screens: Screens, live_site: str, settings
) -> None:
    settings.STOMP_HTTP_FALLBACK = False  # the page keeps trying its WebSocket
    host, phone = at_the_join_form(screens, live_site)
    link = BrokerLink(phone)
    link.cut()
    join_as_bob(phone)
    requests = site_requests(phone, live_site)
    host.get_by_role("button", name="Start").click()
    expect(heading(host, RED_PLANET)).to_be_visible()

    link.restore()

    expect(heading(phone, RED_PLANET)).to_be_visible()
    expect(phone.locator("#connection")).to_have_text("Live")
    snapshot_loads = [request for request in requests if "/snapshot/" in request]
    assert bool(snapshot_loads) is not BROKER_KEEPS_HISTORY


def game_id(page: Page) -> int:
    return page.evaluate(
        "() => JSON.parse(document.getElementById('game-config').textContent).game_id"
    )
