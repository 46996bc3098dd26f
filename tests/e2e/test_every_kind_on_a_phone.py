"""A game with one question of every kind, on projectors of 1366x768 and 1920x1080 and phones
of 390x844 and 360x640: each screen checked for overflow and controls out of reach, and
photographed, at every question and every reveal."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from game_screens import (
    HOST_LOGIN,
    PHONES,
    PROJECTORS,
    SHOTS,
    Screens,
    check_and_shoot,
    contrast_failures,
    out_of_sight,
    phone,
    size,
)
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


def only_quiz(title: str, questions: list[tuple[str, str, list[tuple[str, bool]]]]) -> None:
    """The host's one quiz: `questions` as (kind, text, [(choice, correct)])."""
    host = User.objects.get(username=HOST_LOGIN[0])
    Quiz.objects.filter(author=host).delete()
    quiz = Quiz.objects.create(author=host, title=title)
    for position, (kind, text, choices) in enumerate(questions):
        question = Question.objects.create(
            quiz=quiz, position=position, kind=kind, text=text, time_limit=60, points=1000
        )
        for index, (choice, correct) in enumerate(choices):
            Choice.objects.create(
                question=question, position=index, text=choice, is_correct=correct
            )


@pytest.fixture
def kinds_site(live_site: str) -> str:
    """The live site whose host has one quiz: a question of every kind."""
    only_quiz("Every kind", KINDS_QUIZ)
    return live_site


def heading(page: Page, text: str):
    return page.get_by_role("heading", name=text)


def assert_neutral(row) -> None:
    """The reveal's row of what was not one answer (other answers, another order) wears
    neither a shape nor the colour of an answer."""
    expect(row.locator(".shape")).to_have_count(0)
    assert not re.search(r"\bchoice-\d\b", row.inner_html())


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
    assert shows_the_answers_texts(ann) and shows_the_answers_texts(bob)
    ann.get_by_role("button", name="Mars").click()
    expect(ann.locator("#answer-area")).to_contain_text("You picked ▲ Mars")
    assert contrast_failures(ann) == []
    tap_and_see([(bob, "Venus", "Wrong")])
    expect(heading(ann, "Correct!")).to_be_visible()
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
    prompt = host.locator("#question-choices li").bounding_box()
    assert prompt["width"] == host.locator("#question-choices").bounding_box()["width"]
    ann.get_by_role("button", name="Submit answer").click()
    expect(ann.locator("#answer-area")).to_contain_text("You typed TOKYO")
    bob.get_by_role("button", name="Submit answer").click()
    expect(heading(ann, "Correct!")).to_be_visible()
    expect(heading(bob, "Wrong")).to_be_visible()
    expect(bob.locator("#results")).to_contain_text("You typed Kyoto")
    expect(ann.locator("#correct-answer")).to_contain_text("Accepted: ▲ Tokyo")
    expect(host.locator("#distribution li", has_text="Tokyo")).to_contain_text("✓ correct1")
    assert_neutral(host.locator("#distribution li", has_text="Other answers"))
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
    assert_neutral(host.locator("#distribution li", has_text="Another order"))
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
    expect(page.get_by_role("group", name="The right answer")).to_be_hidden()
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
    page.get_by_label("Answer 1", exact=True).fill("Tokyo")

    page.get_by_label("Kind").select_option("type_answer")
    expect(phone.get_by_label("Your answer")).to_be_visible()
    expect(projector).to_contain_text("Type your answer on your phone")
    expect(projector).not_to_contain_text("Tokyo")
    page.get_by_label("Kind").select_option("true_false")
    expect(phone.locator(".choice")).to_have_text(["▲True", "◆False"])
    page.get_by_label("Kind").select_option("order")
    expect(phone.get_by_role("button", name="Submit order")).to_be_visible()


# The longest a hall's quiz is likely to get: a question of two hundred characters and more,
# and answers of a long line each (a multiple choice, so Submit is on the screen too).
LONG = "In the year the first crewed landing on the Moon took place, which of these"
LONG_QUIZ = [
    (
        "choice",
        f"{LONG} events also happened, as reported by the newspapers of the day on both sides"
        " of the Atlantic (pick every one that applies)?",
        [
            ("The Woodstock music festival in upstate New York", True),
            ("The first flight of the supersonic airliner Concorde", True),
            ("The fall of the Berlin Wall and the end of the division", False),
            ("The first public demonstration of a colour television", False),
        ],
    ),
    (
        "true_false",
        f"{LONG} statements is true: the astronauts left a mirror on the surface that"
        " scientists still bounce lasers off today to measure the distance to the Moon.",
        [("True", True), ("False", False)],
    ),
    (
        "poll",
        f"{LONG} would you most like to have watched live, had you been alive back then and"
        " owned a television set?",
        [
            ("The launch of the Saturn V rocket from Florida", False),
            ("The first steps on the surface of the Moon", False),
            ("The splashdown in the Pacific Ocean", False),
            ("The ticker-tape parade in New York City", False),
        ],
    ),
    (
        "type_answer",
        f"{LONG} was the name of the lunar module that carried Armstrong and Aldrin down to"
        " the surface while Collins stayed in orbit?",
        [("Eagle", True)],
    ),
    (
        "order",
        f"{LONG} missions flew in what order? Put them from the earliest to the latest one,"
        " as they were launched.",
        [
            ("Apollo 8, the first to orbit the Moon", False),
            ("Apollo 10, the dress rehearsal", False),
            ("Apollo 11, the first landing", False),
            ("Apollo 12, the second landing", False),
        ],
    ),
]
# the phones' sizes, and a laptop's window on the player's page
PLAYERS = {**PHONES, "desktop-1366": PROJECTORS["projector-1366"]}


@pytest.fixture
def long_site(live_site: str) -> str:
    """The live site whose host has one quiz: a long question of every kind."""
    only_quiz("Long questions", LONG_QUIZ)
    return live_site


def nothing_out_of_sight(stage: str, players: dict[str, Page]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for who, page in players.items():
        assert out_of_sight(page) == [], f"{who} at {stage}"
        page.screenshot(path=SHOTS / f"long-{stage}-{who}.png")


def test_every_answer_and_submit_fit_one_screen_of_every_phone_however_long_the_question(
    screens: Screens, long_site: str
) -> None:
    host = screens.host(long_site)
    join_url = host.locator("#join-link").inner_text()
    players = {
        who: phone(screens, join_url, f"Player {who}", dimensions)
        for who, dimensions in PLAYERS.items()
    }
    host.get_by_role("button", name="Start").click()

    for kind, text, choices in LONG_QUIZ:
        for page in players.values():
            expect(heading(page, text)).to_be_visible()
            expect(page.locator("#answer-area button").first).to_be_visible()
        nothing_out_of_sight(kind, players)
        *first, last = players
        for who in first:  # the question stays open for the last one
            answer_something(players[who], kind, choices)
            expect(players[who].get_by_text("Answer sent")).to_be_visible()
        nothing_out_of_sight(f"{kind}-sent", {who: players[who] for who in first})
        answer_something(players[last], kind, choices)
        for page in players.values():
            expect(page.locator("#results")).to_be_visible()
        nothing_out_of_sight(f"{kind}-verdict", players)
        host.get_by_role("button", name=re.compile("Next question|Show podium")).click()


def answer_something(page: Page, kind: str, choices: list[tuple[str, bool]]) -> None:
    """Answer as a player would, by the name of what it taps (the shapes-only tiles too)."""
    if kind == "type_answer":
        page.get_by_label("Your answer").fill("The Eagle has landed")
        page.get_by_role("button", name="Submit answer").click()
    elif kind == "order":
        page.get_by_role("button", name="Submit order").click()
    elif kind == "choice":
        page.get_by_role("button", name=choices[0][0]).click()
        page.get_by_role("button", name="Submit answer").click()
    else:
        page.get_by_role("button", name=choices[0][0]).click()


def test_a_phone_shows_the_shapes_alone_when_the_answers_texts_do_not_fit(
    screens: Screens, long_site: str
) -> None:
    host = screens.host(long_site)
    join_url = host.locator("#join-link").inner_text()
    small = phone(screens, join_url, "Small", PHONES["phone-360"])
    laptop = phone(screens, join_url, "Laptop", PROJECTORS["projector-1366"])
    host.get_by_role("button", name="Start").click()

    first_answer = LONG_QUIZ[0][2][0][0]
    for page in (small, laptop):
        expect(page.get_by_role("button", name=first_answer)).to_be_visible()
    assert not shows_the_answers_texts(small)
    assert shows_the_answers_texts(laptop)


def shows_the_answers_texts(page: Page) -> bool:
    """Whether the answer tiles show their texts to the eye (not to screen readers alone)."""
    box = page.locator(".answer-grid .choice-text").first.bounding_box()
    return box is not None and box["width"] > 1 and box["height"] > 1
