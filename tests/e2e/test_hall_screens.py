"""A game as a hall plays it (issue 20): a projector read from the back of the room, phones of
every size, a question with a picture, long answers, players with names of 20 characters, ties.
The players with long names answer through the game's services; two players on phones."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from game_screens import (
    HOST_LOGIN,
    PROJECTORS,
    SHOTS,
    Screens,
    settled,
    size,
)
from playwright.sync_api import Page, expect

from quiz.game import services
from quiz.game.models import Choice, Game, Question, Quiz

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
