"""A game as a hall plays it: a projector read from the back of the room, phones of
every size, a question with a picture, long answers, players with names of 20 characters, ties.
The players with long names answer through the game's services; two players on phones."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from game_screens import (
    HOST_LOGIN,
    PHONES,
    PROJECTORS,
    SHOTS,
    Screens,
    contrast_failures,
    heading,
    out_of_sight,
    phone,
    settled,
    size,
)
from playwright.sync_api import Page, expect

from quiz.game import services
from quiz.game.models import Choice, Game, Player, Question, Quiz

PICTURE_URL = "https://pictures.example/olympus-mons.svg"
PICTURE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" viewBox="0 0 12 8">'
    b'<rect width="12" height="8" fill="#c1440e"/><circle cx="6" cy="6" r="3" fill="#7a2a08"/>'
    b"</svg>"
)
VOLCANO = "Which is the tallest volcano in the solar system, nearly three times Everest?"
VOLCANOES = [
    ("Olympus Mons on Mars", True),
    ("Maxwell Montes on Venus", False),
    ("Mauna Kea on Earth, in Hawaii", False),
    ("Tvashtar Paterae on Io", False),
]
SPRINT = "Which of these animals runs fastest over a short sprint?"
SPRINTERS = [("Cheetah", True), ("Pronghorn antelope", False), ("Springbok", False)]
# Nicknames as long as a join takes (NICKNAME_MAX), of wide letters: they answer right, first.
LONG_NAMES = ["Maximilian Oberhuber", "Anastasia Konstantin", "Wolfgang Mozartowski"]
Look = Callable[[str, dict[str, Page]], None]


@pytest.fixture
def hall_site(live_site: str) -> str:
    """The e2e quiz as a hall plays it: a question with a picture and four long answers, then
    one of three answers."""
    quiz = Quiz.objects.get()
    quiz.questions.all().delete()
    for position, (text, choices, picture) in enumerate(
        [(VOLCANO, VOLCANOES, PICTURE_URL), (SPRINT, SPRINTERS, "")]
    ):
        question = Question.objects.create(
            quiz=quiz, position=position, text=text, image_url=picture, time_limit=60
        )
        for index, (choice, correct) in enumerate(choices):
            Choice.objects.create(
                question=question, position=index, text=choice, is_correct=correct
            )
    return live_site


def show_pictures(page: Page) -> None:
    """The picture's web address answers with PICTURE in this page's browser."""
    page.context.route(
        "https://pictures.example/**",
        lambda route: route.fulfill(body=PICTURE, content_type="image/svg+xml"),
    )


def host_user() -> User:
    return User.objects.get(username=HOST_LOGIN[0])


def projectors(screens: Screens, site: str) -> dict[str, Page]:
    """The host's screen at 1366x768 and, in a second tab, at 1920x1080."""
    host = screens.host(site)
    show_pictures(host)
    host.set_viewport_size(size(PROJECTORS["projector-1366"]))
    wide = screens.another_tab(host)
    wide.set_viewport_size(size(PROJECTORS["projector-1920"]))
    return {"projector-1366": host, "projector-1920": wide}


def shoot(stage: str, pages: dict[str, Page]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for who, page in pages.items():
        settled(page).screenshot(path=SHOTS / f"hall-{stage}-{who}.png")


def test_a_question_picture_takes_two_fifths_of_the_projector_height(
    screens: Screens, hall_site: str
) -> None:
    hosts = projectors(screens, hall_site)
    game = Game.objects.get()
    services.join_game(game_id=game.id, nickname="Ann")
    services.start_game(game_id=game.id, user=host_user())
    for page in hosts.values():
        picture = page.locator("#question-image")
        expect(picture).to_have_js_property("complete", True)
        expect(page.locator("#question-choices li")).to_have_count(4)
        box = settled(page).locator("#question-image").bounding_box()
        assert box is not None and box["height"] >= 0.4 * page.viewport_size["height"], box
    shoot("picture", hosts)


def answer_right_first(game: Game, names: list[str]) -> None:
    """The players called `names` answer the open question right, the first fastest."""
    game.refresh_from_db()
    right = game.current_question.choices.filter(is_correct=True).first()
    for place, name in enumerate(names):
        services.submit_answer(
            answer=services.ArrivedAnswer(
                game_id=game.id,
                player_id=Player.objects.get(game=game, nickname=name).id,
                question_id=game.current_question_id,
                choice_ids=[right.id],
                reaction_ms=300 + 100 * place,
            )
        )


def play_in_the_hall(screens: Screens, site: str, look: Look) -> None:
    """A whole game on the projector at two sizes and two phones, with the players of long
    names; `look(stage, pages)` is called on the screens of every stage: lobby, picture,
    reveal (Bob wrong), sprint, leaderboard (streaks, moves), podium."""
    hosts = projectors(screens, site)
    host = hosts["projector-1366"]
    game = Game.objects.get()
    join_url = host.locator("#join-link").inner_text()
    for name in LONG_NAMES:
        services.join_game(game_id=game.id, nickname=name)
    ann = phone(screens, join_url, "Ann", PHONES["phone-390"])
    bob = phone(screens, join_url, "Bob", PHONES["phone-360"])
    phones = {"phone-390": ann, "phone-360": bob}
    for page in phones.values():
        show_pictures(page)
    expect(host.locator("#player-count")).to_have_text("5")
    look("lobby", {**hosts, **phones})

    host.get_by_role("button", name="Start").click()
    for page in (*hosts.values(), *phones.values()):
        expect(heading(page, VOLCANO)).to_be_visible()
        expect(page.locator("#question-image")).to_have_js_property("complete", True)
    look("picture", {**hosts, **phones})

    answer_right_first(game, LONG_NAMES)
    ann.get_by_role("button", name="Olympus Mons on Mars").click()
    bob.get_by_role("button", name="Maxwell Montes on Venus").click()
    expect(bob.locator("#results[data-verdict=wrong]")).to_be_visible()
    expect(ann.locator("#results[data-verdict=correct]")).to_be_visible()
    expect(host.locator("#top5 li")).to_have_count(5)
    look("reveal", {**hosts, **phones})

    host.get_by_role("button", name="Next question").click()
    for page in (*hosts.values(), *phones.values()):
        expect(heading(page, SPRINT)).to_be_visible()
    look("sprint", {**hosts, **phones})
    answer_right_first(game, list(reversed(LONG_NAMES)))
    ann.get_by_role("button", name="Cheetah").click()
    bob.get_by_role("button", name="Springbok").click()
    expect(host.locator("#top5")).to_contain_text("2 in a row")
    expect(ann.locator("#results[data-verdict=correct]")).to_be_visible()
    look("leaderboard", {**hosts, **phones})

    host.get_by_role("button", name="Show podium").click()
    for page in (*hosts.values(), *phones.values()):
        expect(page.locator("#podium li")).to_have_count(3)
    look("podium", {**hosts, **phones})


def test_no_screen_of_the_game_hides_anything_at_any_size(screens: Screens, hall_site: str) -> None:
    def fits(stage: str, pages: dict[str, Page]) -> None:
        shoot(stage, pages)
        hidden = {who: out_of_sight(page) for who, page in pages.items()}
        assert hidden == {who: [] for who in pages}, stage

    play_in_the_hall(screens, hall_site, fits)


def test_every_text_of_the_game_has_aa_contrast(screens: Screens, hall_site: str) -> None:
    def readable(stage: str, pages: dict[str, Page]) -> None:
        failures = {who: contrast_failures(page) for who, page in pages.items()}
        assert failures == {who: [] for who in pages}, stage

    play_in_the_hall(screens, hall_site, readable)


NAMES_SHOWN_WHOLE = """(selector) => [...document.querySelectorAll(selector)]
  .filter((name) => name.checkVisibility())
  .map((name) => ({ text: name.firstChild.textContent, cut: name.scrollWidth > name.clientWidth,
                    px: parseFloat(getComputedStyle(name).fontSize) }))"""


def test_the_top_five_and_the_podium_show_every_name_whole_in_big_type(
    screens: Screens, hall_site: str
) -> None:
    def names_whole(stage: str, pages: dict[str, Page]) -> None:
        if stage not in ("leaderboard", "podium"):
            return
        host = settled(pages["projector-1366"])
        selector = "#top5 .name" if stage == "leaderboard" else "#podium .podium-name"
        names = host.evaluate(NAMES_SHOWN_WHOLE, selector)
        assert {name["text"] for name in names} >= set(LONG_NAMES)
        for name in names:
            assert not name["cut"], name
            assert name["px"] >= 0.04 * 768, f"{name}: readable from the back of a hall"

    play_in_the_hall(screens, hall_site, names_whole)


def test_the_lobby_shows_39_long_names_without_an_inner_scroll(
    screens: Screens, hall_site: str
) -> None:
    hosts = projectors(screens, hall_site)
    game = Game.objects.get()
    for number in range(39):
        services.join_game(game_id=game.id, nickname=f"{LONG_NAMES[number % 3][:17]} {number:02d}")
    for page in hosts.values():
        expect(page.locator("#player-count")).to_have_text("39")
    shoot("lobby-39", hosts)
    for who, page in hosts.items():
        assert out_of_sight(page) == [], who


def finished_game(site: str, screens: Screens, scores: dict[str, int]) -> dict[str, Page]:
    """The host's projectors at the podium of a game its players ended with `scores`."""
    hosts = projectors(screens, site)
    game = Game.objects.get()
    for name, score in scores.items():
        player = services.join_game(game_id=game.id, nickname=name)
        Player.objects.filter(pk=player.pk).update(score=score)
    services.end_game(game_id=game.id, user=host_user())
    for page in hosts.values():
        expect(page.locator("#podium li")).to_have_count(3)
        settled(page)
    return hosts


# The box of each place's step: the list item, or the step inside it.
STEP = "#podium .place-{0}.podium-step, #podium .place-{0} .podium-step"


def test_a_tie_for_second_keeps_the_winner_in_the_middle(screens: Screens, hall_site: str) -> None:
    hosts = finished_game(hall_site, screens, {"Ann": 3000, "Bob": 2000, "Cem": 2000})
    for who, host in hosts.items():
        winner, tied, other = (host.locator("#podium li").nth(i).bounding_box() for i in range(3))
        assert tied["x"] < winner["x"] < other["x"], f"{who}: second, first, second"
    shoot("podium-tie", hosts)


def test_a_long_third_name_leaves_the_steps_as_high_as_their_places(
    screens: Screens, hall_site: str
) -> None:
    hosts = finished_game(
        hall_site, screens, {"Ann": 3000, "Bob": 2000, "Bartholomew Wolfgang": 1000}
    )
    for who, host in hosts.items():
        steps = [host.locator(STEP.format(place)).bounding_box() for place in (1, 2, 3)]
        heights = [step["height"] for step in steps]
        assert heights[0] > heights[1] > heights[2], f"{who}: {heights}"
    shoot("podium-long-third", hosts)
