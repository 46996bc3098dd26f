"""A game with one question of every kind, on projectors of 1366x768 and 1920x1080 and phones
of 390x844 and 360x640: each screen checked for overflow and controls out of reach, and
photographed, at every question and every reveal."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from game_screens import HOST_LOGIN, PHONES, PROJECTORS, Screens, check_and_shoot, phone, size
from playwright.sync_api import Page, expect

from quiz.game.models import Choice, Question, Quiz

ORDER = ["Moon", "Mars", "Earth", "Sun"]  # smallest to largest
KINDS_QUIZ = [
    ("choice", "Which planet is red?", [("Mars", True), ("Venus", False)]),
    ("true_false", "The Sun is a star.", [("True", True), ("False", False)]),
    ("poll", "Best season?", [("Summer", False), ("Winter", False)]),
    ("type_answer", "Capital of Japan?", [("Tokyo", True)]),
    ("order", "Smallest to largest?", [(item, False) for item in ORDER]),
]


@pytest.fixture
def kinds_site(live_site: str) -> str:
    """The live site whose host has one quiz: a question of every kind."""
    host = User.objects.get(username=HOST_LOGIN[0])
    Quiz.objects.filter(author=host).delete()
    quiz = Quiz.objects.create(author=host, title="Every kind")
    for position, (kind, text, choices) in enumerate(KINDS_QUIZ):
        question = Question.objects.create(
            quiz=quiz, position=position, kind=kind, text=text, time_limit=60, points=1000
        )
        for index, (choice, correct) in enumerate(choices):
            Choice.objects.create(
                question=question, position=index, text=choice, is_correct=correct
            )
    return live_site


def heading(page: Page, text: str):
    return page.get_by_role("heading", name=text)


def tap_and_see(plays: list[tuple[Page, str, str]]) -> None:
    """Each phone taps its choice; once all have (the question then closes), each one's
    verdict is the one given."""
    for page, choice, _ in plays:
        page.get_by_role("button", name=choice).click()
    for page, _, verdict in plays:
        expect(heading(page, verdict)).to_be_visible()


def put_in_order(phone: Page, items: list[str]) -> None:
    """Move the shuffled items up until they read `items`, as a player would."""
    for place, item in enumerate(items):
        shown = phone.locator(".order-items .choice-text").all_inner_texts()
        for _ in range(shown.index(item) - place):
            phone.get_by_role("button", name=f"Move {item} up").click()
    expect(phone.locator(".order-items .choice-text")).to_have_text(items)


def test_a_game_of_every_kind_on_every_screen_size(screens: Screens, kinds_site: str) -> None:
    host = screens.host(kinds_site)
    host.set_viewport_size(size(PROJECTORS["projector-1366"]))
    wide = screens.another_tab(host)
    wide.set_viewport_size(size(PROJECTORS["projector-1920"]))
    join_url = host.locator("#join-link").inner_text()
    ann = phone(screens, join_url, "Ann", PHONES["phone-390"])
    bob = phone(screens, join_url, "Bob", PHONES["phone-360"])
    every = {"projector-1366": host, "projector-1920": wide, "phone-390": ann, "phone-360": bob}
    expect(host.locator("#player-count")).to_have_text("2")
    host.get_by_role("button", name="Start").click()

    expect(heading(ann, "Which planet is red?")).to_be_visible()
    check_and_shoot("kind-choice", every)
    tap_and_see([(ann, "Mars", "Correct!"), (bob, "Venus", "Wrong")])
    expect(host.locator("#distribution li", has_text="Mars")).to_contain_text("✓ correct")
    check_and_shoot("kind-choice-reveal", every)
    host.get_by_role("button", name="Next question").click()

    expect(heading(ann, "The Sun is a star.")).to_be_visible()
    expect(host.locator("#question-kind")).to_have_text("True or false?")
    check_and_shoot("kind-true-false", every)
    tap_and_see([(ann, "False", "Wrong"), (bob, "True", "Correct!")])
    expect(ann.locator("#correct-answer")).to_contain_text("True")
    check_and_shoot("kind-true-false-reveal", every)
    host.get_by_role("button", name="Next question").click()

    expect(heading(ann, "Best season?")).to_be_visible()
    check_and_shoot("kind-poll", every)
    ann.get_by_role("button", name="Winter").click()
    bob.get_by_role("button", name="Winter").click()
    expect(heading(ann, "Thanks for voting!")).to_be_visible()
    expect(ann.locator("#points-won")).to_have_text("+0 points")
    expect(host.locator("#distribution li", has_text="Winter")).to_contain_text("2")
    expect(host.locator("#distribution")).not_to_contain_text("correct")
    check_and_shoot("kind-poll-reveal", every)
    host.get_by_role("button", name="Next question").click()

    expect(heading(ann, "Capital of Japan?")).to_be_visible()
    for page in every.values():
        expect(page.locator("body")).not_to_contain_text("Tokyo")
    ann.get_by_label("Your answer").fill("  TOKYO ")
    bob.get_by_label("Your answer").fill("Kyoto")
    check_and_shoot("kind-type-answer", every)
    ann.get_by_role("button", name="Submit answer").click()
    bob.get_by_role("button", name="Submit answer").click()
    expect(heading(ann, "Correct!")).to_be_visible()
    expect(heading(bob, "Wrong")).to_be_visible()
    expect(ann.locator("#correct-answer")).to_contain_text("Accepted: ▲ Tokyo")
    expect(host.locator("#distribution li", has_text="Tokyo")).to_contain_text("✓ correct1")
    check_and_shoot("kind-type-answer-reveal", every)
    host.get_by_role("button", name="Next question").click()

    expect(heading(ann, "Smallest to largest?")).to_be_visible()
    shown = ann.locator(".order-items .choice-text").all_inner_texts()
    assert sorted(shown) == sorted(ORDER) and shown != ORDER
    for page in every.values():
        expect(page.locator("body")).not_to_contain_text("Moon → Mars")
    put_in_order(ann, ORDER)
    check_and_shoot("kind-order", every)
    ann.get_by_role("button", name="Submit order").click()
    bob.get_by_role("button", name="Submit order").click()  # as shuffled: not the right order
    expect(heading(ann, "Correct!")).to_be_visible()
    expect(heading(bob, "Wrong")).to_be_visible()
    expect(ann.locator("#correct-answer")).to_contain_text("1. Moon")
    right_order = host.locator("#distribution li", has_text="Moon → Mars → Earth → Sun")
    expect(right_order).to_contain_text("✓ correct1")
    check_and_shoot("kind-order-reveal", every)

    host.get_by_role("button", name="Show podium").click()
    expect(host.locator("#podium li")).to_have_count(2)
    expect(host.locator("#podium .place-1")).to_contain_text("Ann")
    expect(host.locator("#podium .place-2")).to_contain_text("Bob")
    expect(ann.locator("#my-place")).to_have_text(re.compile(r"^You finished 1st of 2 with"))
    check_and_shoot("kind-podium", every)


def test_the_question_page_asks_what_the_chosen_kind_needs(
    screens: Screens, kinds_site: str
) -> None:
    page = screens.author(kinds_site)
    quiz = Quiz.objects.get(title="Every kind")
    page.goto(f"{kinds_site}/quizzes/{quiz.id}/questions/new/")
    expect(page.locator(".choice-fields")).to_be_visible()
    expect(page.get_by_text("True or false: the right answer")).to_be_hidden()
    page.get_by_label("Kind").select_option("true_false")
    expect(page.locator(".choice-fields")).to_be_hidden()
    page.get_by_label("Text").fill("Mars has two moons.")
    page.get_by_label("False", exact=True).check()
    page.get_by_label("True", exact=True).check()
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Question saved.")).to_be_visible()
    question = quiz.questions.get(text="Mars has two moons.")
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [
        ("True", True),
        ("False", False),
    ]


def test_the_preview_follows_the_kind_the_author_picks(screens: Screens, kinds_site: str) -> None:
    page = screens.author(kinds_site)
    quiz = Quiz.objects.get(title="Every kind")
    page.goto(f"{kinds_site}/quizzes/{quiz.id}/questions/new/")
    phone, projector = page.locator(".preview-phone"), page.locator(".preview-projector")
    page.get_by_label("Text").fill("Capital of Japan?")
    page.get_by_label("Choice 1", exact=True).fill("Tokyo")

    page.get_by_label("Kind").select_option("type_answer")
    expect(phone.get_by_label("Your answer")).to_be_visible()
    expect(projector).to_contain_text("Type your answer on your phone")
    expect(projector).not_to_contain_text("Tokyo")
    page.get_by_label("Kind").select_option("true_false")
    expect(phone.locator(".choice")).to_have_text(["▲True", "◆False"])
    page.get_by_label("Kind").select_option("order")
    expect(phone.get_by_role("button", name="Submit order")).to_be_visible()
