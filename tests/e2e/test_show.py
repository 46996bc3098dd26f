"""The game as a show: a podium that keeps its winner secret until
the end and celebrates on the winner's phone, and the small things around the phone's screens."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from game_screens import (
    HOST_LOGIN,
    PHONES,
    PROJECTOR,
    Screens,
    contrast_failures,
    heading,
    phone,
)
from playwright.sync_api import Page, expect

from quiz.game import services
from quiz.game.models import Game, Player

# When each of `selectors` first shows on the page, in ms of its animations' own time: every
# animation is paused and moved on step by step, so the order does not hang on this machine's
# speed. Shown: rendered, not transparent, not visibility:hidden (itself or an ancestor).
FIRST_SHOWN = """(selectors) => {
  const animations = document.getAnimations();
  const end = Math.max(0, ...animations.map((a) => a.effect.getComputedTiming().endTime)
    .filter(Number.isFinite));
  const shown = selectors.map(() => null);
  for (let t = 0; t <= end + 100; t += 100) {
    for (const animation of animations) {
      animation.pause();
      animation.currentTime = t;
    }
    selectors.forEach((selector, i) => {
      const element = document.querySelector(selector);
      if (shown[i] === null && element.checkVisibility(
        { opacityProperty: true, visibilityProperty: true })) shown[i] = t;
    });
  }
  return shown;
}"""


def first_shown(page: Page, *selectors: str) -> list[int | None]:
    return page.evaluate(FIRST_SHOWN, list(selectors))


def finish_with(host: Page, scores: dict[str, int]) -> None:
    """The players called as `scores`' keys end the game with those scores."""
    game = Game.objects.get()
    for nickname, score in scores.items():
        Player.objects.filter(game=game, nickname=nickname).update(score=score)
    services.end_game(game_id=game.id, user=User.objects.get(username=HOST_LOGIN[0]))
    expect(host.locator("#podium li")).to_have_count(3)


def test_the_podium_names_third_then_second_then_the_winner_before_the_table(
    screens: Screens, live_site: str
) -> None:
    host = screens.host(live_site)
    game = Game.objects.get()
    for nickname in ("Ann", "Bob", "Cem", "Dee"):
        services.join_game(game_id=game.id, nickname=nickname)
    finish_with(host, {"Ann": 3000, "Bob": 2000, "Cem": 1000, "Dee": 500})

    third, second, first, table = first_shown(
        host,
        "#podium .place-3 .podium-name",
        "#podium .place-2 .podium-name",
        "#podium .place-1 .podium-name",
        "#final-table",
    )
    assert 0 < third < second < first <= table, (third, second, first, table)


def test_with_less_motion_the_podium_shows_every_place_and_the_table_at_once(
    screens: Screens, live_site: str
) -> None:
    host = screens.author(live_site, **PROJECTOR, reduced_motion="reduce")
    host.get_by_role("button", name="Host a game").click()
    expect(host.locator("#pin")).to_have_text(re.compile(r"^\d{6}$"))
    game = Game.objects.get()
    for nickname in ("Ann", "Bob", "Cem", "Dee"):
        services.join_game(game_id=game.id, nickname=nickname)
    finish_with(host, {"Ann": 3000, "Bob": 2000, "Cem": 1000, "Dee": 500})

    shown = first_shown(
        host,
        "#podium .place-3 .podium-name",
        "#podium .place-2 .podium-name",
        "#podium .place-1 .podium-name",
        "#final-table",
    )
    assert shown == [0, 0, 0, 0]
    assert host.evaluate("document.getAnimations().length") == 0


def test_the_winners_phone_celebrates_once_the_podium_names_the_winner(
    screens: Screens, live_site: str
) -> None:
    host = screens.host(live_site)
    join_url = host.locator("#join-link").inner_text()
    ann = phone(screens, join_url, "Ann", PHONES["phone-390"])
    bob = phone(screens, join_url, "Bob", PHONES["phone-360"])
    bob.emulate_media(reduced_motion="reduce")
    game = Game.objects.get()
    services.join_game(game_id=game.id, nickname="Cem")
    finish_with(host, {"Ann": 3000, "Bob": 2000, "Cem": 1000})

    expect(ann.get_by_text("You won!")).to_be_visible()
    winner, celebration, place = first_shown(
        ann, "#podium .place-1 .podium-name", "#celebration", "#my-place"
    )
    assert 0 < winner <= celebration and winner <= place, (winner, celebration, place)
    assert ann.evaluate(
        "() => document.getAnimations().some((a) => a.effect.getTiming().iterations === Infinity)"
    ), "confetti keeps falling"
    assert contrast_failures(ann) == []
    expect(bob.get_by_text("You won!")).to_be_hidden()
    expect(bob.locator("#my-place")).to_contain_text("You finished 2nd of 3")
    assert bob.evaluate("document.getAnimations().length") == 0, "no motion when asked for none"


def test_a_removed_player_is_no_longer_told_it_is_live(screens: Screens, live_site: str) -> None:
    host = screens.host(live_site)
    cem = phone(screens, host.locator("#join-link").inner_text(), "Cem", PHONES["phone-360"])
    expect(cem.locator("#connection")).to_have_text("Live")

    host.once("dialog", lambda dialog: dialog.accept())
    host.get_by_role("button", name="Kick Cem").click()

    expect(heading(cem, "You were removed")).to_be_visible()
    expect(cem.get_by_text("Live", exact=True)).to_be_hidden()


def test_the_join_link_puts_the_cursor_on_the_nickname(screens: Screens, live_site: str) -> None:
    host = screens.host(live_site)
    page = screens.window(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)

    page.goto(host.locator("#join-link").inner_text())

    expect(page.get_by_label("Game PIN")).to_have_value(re.compile(r"^\d{6}$"))
    expect(page.get_by_label("Nickname")).to_be_focused()


def test_leave_stays_at_the_end_of_the_phones_one_line_bar(
    screens: Screens, live_site: str
) -> None:
    host = screens.host(live_site)
    name = "Maximilian Oberhuber"  # as long as a nickname goes
    player = phone(screens, host.locator("#join-link").inner_text(), name, PHONES["phone-360"])
    Player.objects.filter(nickname=name).update(score=12345)
    player.reload()
    expect(player.locator("#me-score")).to_have_text("12345 points")

    nickname, leave = (player.locator(f".game-bar {s}").bounding_box() for s in (".me", ".leave"))
    assert abs(leave["y"] + leave["height"] / 2 - (nickname["y"] + nickname["height"] / 2)) < 4
    assert leave["x"] + leave["width"] <= 360 and leave["x"] > nickname["x"] + nickname["width"]
