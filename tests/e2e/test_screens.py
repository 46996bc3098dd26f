"""A whole game on the screens people use: three projectors and three phones of the sizes the
game must fit, checked for overflow, controls out of reach, the verdict and the podium, and
photographed at every step (test-artifacts/screens/; `make screenshots` copies a few to docs/)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from game_screens import (
    PHONES,
    PROJECTORS,
    QUESTIONS,
    SHOTS,
    Screens,
    check_and_shoot,
    phone,
    settled,
    size,
)
from playwright.sync_api import Page, expect

from quiz.game.models import Choice, Question, Quiz

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)
LONG_WORDS = "Which of these is the longest word ever printed in a dictionary?"
LONG_ANSWER = "Pneumonoultramicroscopicsilicovolcanoconiosis"
SHORT_LIMIT = 8  # seconds for the primes question, which one player leaves unanswered


@pytest.fixture
def quiz_for_screens(live_site: str) -> str:
    """The e2e quiz with a short time limit on the primes question and a third question of two
    choices with a very long word: two halves on the phone, nothing may overflow."""
    quiz = Quiz.objects.get()
    Question.objects.filter(quiz=quiz, position=1).update(time_limit=SHORT_LIMIT)
    question = Question.objects.create(
        quiz=quiz, position=2, text=LONG_WORDS, time_limit=60, points=1000
    )
    for position, (text, correct) in enumerate([(LONG_ANSWER, True), ("Cat", False)]):
        Choice.objects.create(question=question, position=position, text=text, is_correct=correct)
    return live_site


def heading(page: Page, text: str) -> Any:
    return page.get_by_role("heading", name=text)


def test_a_whole_game_fits_every_projector_and_phone(
    screens: Screens, quiz_for_screens: str
) -> None:
    host = screens.host(quiz_for_screens)
    host.set_viewport_size(size(PROJECTORS["projector-1366"]))
    wide = screens.another_tab(host)
    wide.set_viewport_size(size(PROJECTORS["projector-1920"]))
    small = screens.another_tab(host)
    small.set_viewport_size(size(PROJECTORS["projector-1280"]))
    projectors = {"projector-1280": small, "projector-1366": host, "projector-1920": wide}
    join_url = host.locator("#join-link").inner_text()
    ann = phone(screens, join_url, "Ann", PHONES["phone-390"])
    bob = phone(screens, join_url, "Bob", PHONES["phone-360"])
    dee = phone(screens, join_url, "Dee", PHONES["phone-390"])
    phones = {"phone-390": ann, "phone-360": bob}
    expect(host.locator("#player-count")).to_have_text("3")
    expect(host.locator(".game-bar")).to_contain_text("Space and numbers")
    check_and_shoot("lobby", {**projectors, **phones})
    host.get_by_role("button", name="Sound off").click()  # tunes from here on, without errors
    expect(host.get_by_role("button", name="Sound on")).to_have_attribute("aria-pressed", "true")

    host.keyboard.press("ArrowRight")  # the primary action: Start, even with Sound focused
    for page in (host, wide, ann, bob, dee):
        expect(heading(page, RED_PLANET)).to_be_visible()
    expect(host.locator("#question-progress")).to_have_text("Question 1 of 3")
    check_and_shoot("question", {**projectors, **phones})
    ann.get_by_role("button", name="Mars").click()
    expect(ann.get_by_text("Answer sent")).to_be_visible()
    check_and_shoot("answer-sent", {"phone-390": ann})
    dee.get_by_role("button", name="Mars").click()
    expect(dee.get_by_text("Answer sent")).to_be_visible()
    bob.get_by_role("button", name="Venus").click()

    expect(ann.locator("#results[data-verdict=correct]")).to_be_visible()
    expect(ann.locator("#result-rank")).to_have_text(re.compile(r"^1st, \d+ ahead of Dee$"))
    expect(bob.locator("#results[data-verdict=wrong]")).to_be_visible()
    expect(bob.locator("#result-rank")).to_have_text(re.compile(r"^3rd, \d+ behind Dee$"))
    expect(host.locator("#top5 li").first).to_contain_text("Ann")
    check_and_shoot("reveal", {**projectors, **phones})

    host.evaluate("document.activeElement.blur()")  # space on a focused button presses it
    host.keyboard.press(" ")  # the primary action: Next question
    for page in (host, ann, bob):
        expect(heading(page, PRIMES)).to_be_visible()
    for page in (ann, bob):
        page.get_by_role("button", name="2", exact=True).click()
        page.get_by_role("button", name="3", exact=True).click()
        page.get_by_role("button", name="Submit answer").click()
        expect(page.get_by_text("Answer sent")).to_be_visible()
    expect(host.get_by_text("Time's up!")).to_be_visible(timeout=(SHORT_LIMIT + 5) * 1000)
    expect(ann.locator("#streak")).to_have_text("🔥 2 in a row")
    expect(ann.locator("#streak-bonus")).to_have_text("incl. 100 streak bonus")
    expect(dee.locator("#verdict")).to_have_text("No answer")
    expect(host.get_by_role("button", name="Next question")).to_be_visible()

    host.keyboard.press("ArrowRight")
    expect(heading(ann, LONG_WORDS)).to_be_visible()
    check_and_shoot("two-choices", {**projectors, **phones})
    ann.get_by_role("button", name=LONG_ANSWER).click()
    bob.get_by_role("button", name=LONG_ANSWER).click()
    dee.get_by_role("button", name="Cat").click()
    expect(bob.locator("#results[data-verdict=correct]")).to_be_visible()
    for page in phones.values():
        box = settled(page).locator("#results").bounding_box()
        assert box is not None and (box["width"], box["height"]) == tuple(
            page.viewport_size.values()
        ), "the verdict takes the whole phone"
    check_and_shoot("verdict", {**projectors, **phones})

    wide.emulate_media(reduced_motion="reduce")
    host.get_by_role("button", name="Show podium").click()
    expect(wide.locator("#podium li")).to_have_count(3)
    assert wide.evaluate("document.getAnimations().length") == 0
    podium = [host.locator(f"#podium .place-{place}") for place in (1, 2, 3)]
    for step, nickname in zip(podium, ("Ann", "Bob", "Dee"), strict=True):
        expect(step).to_contain_text(nickname)
    settled(host)
    first, second, third = (step.bounding_box() for step in podium)
    assert second["x"] < first["x"] < third["x"], "second, first, third from left to right"
    assert first["y"] < second["y"] < third["y"], "first on the highest step"
    expect(ann.locator("#my-place")).to_contain_text("You finished 1st of 3")
    check_and_shoot("podium", {**projectors, **phones})


def test_a_name_clicked_in_the_lobby_is_kicked_only_once_the_host_confirms(
    screens: Screens, live_site: str
) -> None:
    host = screens.host(live_site)
    cem = phone(screens, host.locator("#join-link").inner_text(), "Cem", PHONES["phone-360"])
    players = host.get_by_role("list", name="Players")
    kicks: list[str] = []
    host.on(
        "request", lambda request: kicks.append(request.url) if "/kick/" in request.url else None
    )

    host.once("dialog", lambda dialog: dialog.dismiss())
    players.get_by_text("Cem").click()
    host.once("dialog", lambda dialog: dialog.accept())
    players.get_by_text("Cem").click()

    expect(heading(cem, "You were removed")).to_be_visible()
    expect(players.get_by_role("listitem")).to_have_count(0)
    assert len(kicks) == 1, "the kick the host called off was never sent"


def test_the_question_form_previews_the_question_in_the_game_colours_and_shapes(
    screens: Screens, site: str
) -> None:
    page = screens.author(site, viewport=size(PROJECTORS["projector-1366"]))
    page.goto(f"{site}/quizzes/{Quiz.objects.get().id}/questions/new/")

    page.get_by_label("Text").fill("Which one is blue?")
    page.get_by_label("Answer 1", exact=True).fill("The sea")
    page.get_by_label("Answer 3", exact=True).fill("Grass")

    phone, projector = page.locator(".preview-phone"), page.locator(".preview-projector")
    expect(phone.get_by_text("Which one is blue?")).to_be_visible()
    expect(phone.locator(".choice")).to_have_count(2)
    expect(projector.locator(".choice-1")).to_have_text("◆Grass")  # the second filled row
    expect(page.locator(".choice-row").nth(2).locator(".shape-badge")).to_have_class(
        re.compile(r"\bchoice-1\b")
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "authoring-preview.png", full_page=True)
