"""The question editor speaks each kind: its rows are named as the kind calls them, it shows
only the fields the kind uses, and its live preview stands beside the form on a laptop."""

from __future__ import annotations

import pytest
from game_screens import (
    OVERFLOWING,
    PHONES,
    PROJECTORS,
    SHOTS,
    Screens,
    accessibility_failures,
    size,
)
from playwright.sync_api import Page, expect

from quiz.game.models import Choice, Question, Quiz

LAPTOP, PHONE = PROJECTORS["projector-1366"], PHONES["phone-390"]

# The rows' labels of each kind answered from rows, and whether each row has a Correct mark.
ROWS = {
    "choice": (["Answer 1", "Answer 2", "Answer 3", "Answer 4"], True),
    "poll": (["Option 1", "Option 2", "Option 3", "Option 4"], False),
    "type_answer": (
        ["Accepted answer 1", "Accepted answer 2", "Accepted answer 3", "Accepted answer 4"],
        False,
    ),
    "order": (["Item 1 (first)", "Item 2", "Item 3", "Item 4"], False),
}
EVERY_KIND = [*ROWS, "true_false"]

# The rows' legend, the box its border draws and its width: the legend within that border.
LEGEND_AND_BORDER = """() => {
  const fieldset = document.querySelector(".choice-fields");
  const border = parseFloat(getComputedStyle(fieldset).borderTopWidth);
  const box = fieldset.getBoundingClientRect();
  const legend = fieldset.querySelector("legend").getBoundingClientRect();
  return { inside: legend.top >= box.top + border && legend.bottom <= box.bottom - border
                   && legend.left >= box.left + border && legend.right <= box.right - border,
           legend: legend.toJSON(), fieldset: box.toJSON() };
}"""


def new_question(screens: Screens, site: str, dimensions: tuple[int, int] = LAPTOP) -> Page:
    page = screens.author(site, viewport=size(dimensions))
    page.goto(f"{site}/quizzes/{Quiz.objects.get().id}/questions/new/")
    return page


def pick_kind(page: Page, kind: str) -> None:
    page.get_by_label("Kind").select_option(kind)


def correct_marks(page: Page):
    return page.get_by_role("checkbox", name="Correct")


def box(page: Page, selector: str) -> dict[str, float]:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("kind", list(ROWS))
def test_each_kind_names_its_rows_as_it_calls_them(screens: Screens, site: str, kind: str) -> None:
    page = new_question(screens, site)
    pick_kind(page, kind)
    labels, marked = ROWS[kind]
    for label in labels:
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    expect(page.get_by_label("Choice 1", exact=True)).to_have_count(0)
    expect(correct_marks(page)).to_have_count(4 if marked else 0)
    expect(page.get_by_role("group", name="The right answer")).to_be_hidden()


def test_a_true_or_false_question_asks_only_which_is_right(screens: Screens, site: str) -> None:
    page = new_question(screens, site)
    pick_kind(page, "true_false")
    expect(page.get_by_role("group", name="The right answer")).to_be_visible()
    expect(page.get_by_label("True", exact=True)).to_be_visible()
    expect(page.get_by_label("False", exact=True)).to_be_visible()
    expect(page.locator(".choice-fields")).to_be_hidden()
    expect(correct_marks(page)).to_have_count(0)


def test_a_poll_asks_for_no_points(screens: Screens, site: str) -> None:
    page = new_question(screens, site)
    points = page.get_by_role("group", name="Points")
    expect(points).to_be_visible()
    pick_kind(page, "poll")
    expect(points).to_be_hidden()
    pick_kind(page, "choice")
    expect(points).to_be_visible()


def test_switching_kind_renames_the_rows_and_keeps_what_was_typed(
    screens: Screens, site: str
) -> None:
    page = new_question(screens, site)
    page.get_by_label("Answer 1", exact=True).fill("Moon")
    pick_kind(page, "order")
    expect(page.get_by_label("Item 1 (first)", exact=True)).to_have_value("Moon")
    expect(page.get_by_label("Answer 1", exact=True)).to_have_count(0)
    pick_kind(page, "type_answer")
    expect(page.get_by_label("Accepted answer 1", exact=True)).to_have_value("Moon")
    expect(page.locator(".choice-fields legend")).to_have_text("Accepted answers")


def test_an_edited_question_opens_with_its_kinds_rows(screens: Screens, site: str) -> None:
    quiz = Quiz.objects.get()
    question = Question.objects.create(
        quiz=quiz, position=2, text="Capital of Japan?", kind="type_answer"
    )
    Choice.objects.create(question=question, position=0, text="Tokyo", is_correct=True)
    page = screens.author(site, viewport=size(LAPTOP))
    page.goto(f"{site}/quizzes/{quiz.id}/questions/{question.id}/edit/")
    expect(page.get_by_label("Accepted answer 1", exact=True)).to_have_value("Tokyo")
    expect(correct_marks(page)).to_have_count(0)


def test_a_refused_question_comes_back_in_its_kind_saying_why(screens: Screens, site: str) -> None:
    page = new_question(screens, site)
    pick_kind(page, "order")
    page.get_by_label("Text").fill("Smallest to largest?")
    page.get_by_label("Item 1 (first)", exact=True).fill("Moon")
    page.get_by_label("Item 2", exact=True).fill("Earth")
    page.get_by_role("button", name="Save question").click()
    expect(page.locator(".choice-fields")).to_contain_text("A question has 3 to 4 items to order.")
    expect(page.get_by_label("Item 2", exact=True)).to_have_value("Earth")
    assert not Question.objects.filter(text="Smallest to largest?").exists()


@pytest.mark.parametrize("kind", list(ROWS))
def test_the_rows_legend_stands_inside_its_border(screens: Screens, site: str, kind: str) -> None:
    page = new_question(screens, site)
    pick_kind(page, kind)
    placed = page.evaluate(LEGEND_AND_BORDER)
    assert placed["inside"], placed


def test_the_preview_stands_beside_the_form_in_view_on_a_laptop(
    screens: Screens, site: str
) -> None:
    page = new_question(screens, site)
    form, preview = box(page, ".author-form"), box(page, ".question-preview")
    assert preview["x"] >= form["x"] + form["width"], (form, preview)
    assert preview["y"] >= 0 and preview["y"] + preview["height"] <= LAPTOP[1], preview
    assert preview["x"] + preview["width"] <= LAPTOP[0], preview
    page.get_by_role("button", name="Save question").scroll_into_view_if_needed()
    assert page.evaluate("scrollY") > 0
    preview = box(page, ".question-preview")
    assert preview["y"] >= 0 and preview["y"] + preview["height"] <= LAPTOP[1], preview
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "editor-projector-1366.png")


def test_on_a_phone_the_preview_follows_the_form(screens: Screens, site: str) -> None:
    page = new_question(screens, site, PHONE)
    form, preview = box(page, ".author-form"), box(page, ".question-preview")
    assert preview["y"] >= form["y"] + form["height"], (form, preview)


def test_the_preview_follows_the_typing_without_asking_the_server(
    screens: Screens, site: str
) -> None:
    page = new_question(screens, site)
    requests: list[str] = []  # what the page asks of the site (not the browser's own favicon)
    page.on(
        "request",
        lambda request: (
            requests.append(request.url)
            if request.resource_type in ("document", "fetch", "xhr")
            else None
        ),
    )
    pick_kind(page, "poll")
    page.get_by_label("Text").fill("Best season?")
    page.get_by_label("Option 1", exact=True).press_sequentially("Summer")
    page.get_by_label("Option 2", exact=True).press_sequentially("Winter")
    projector, phone = page.locator(".preview-projector"), page.locator(".preview-phone")
    expect(projector.get_by_text("Best season?")).to_be_visible()
    expect(projector.locator(".choice")).to_have_text(["▲Summer", "◆Winter"])
    expect(phone.locator(".choice")).to_have_count(2)
    assert requests == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "editor-typed-projector-1366.png")  # make screenshots


@pytest.mark.parametrize("kind", ["choice", "poll", "order"])
def test_before_anything_is_typed_the_preview_shows_the_kinds_tiles_by_its_rows_names(
    screens: Screens, site: str, kind: str
) -> None:
    page = new_question(screens, site)
    pick_kind(page, kind)
    first, second = ROWS[kind][0][:2]
    tiles = page.locator(".preview-projector .choice")

    expect(tiles).to_have_text([f"▲{first}", f"◆{second}"])
    page.get_by_label(first, exact=True).press_sequentially("Summer")
    expect(tiles).to_have_text(["▲Summer"])


@pytest.mark.parametrize("kind", EVERY_KIND)
@pytest.mark.parametrize("screen", ["projector-1366", "phone-390"])
def test_the_editor_never_overflows_sideways(
    screens: Screens, site: str, kind: str, screen: str
) -> None:
    page = new_question(screens, site, {**PROJECTORS, **PHONES}[screen])
    pick_kind(page, kind)
    assert page.evaluate(OVERFLOWING) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"editor-{kind}-{screen}.png", full_page=True)


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_editor_meets_wcag_aa(screens: Screens, site: str, kind: str) -> None:
    page = new_question(screens, site)
    pick_kind(page, kind)
    page.get_by_label("Text").fill("Which of these is the largest?")
    assert accessibility_failures(page) == []


def test_two_right_answers_preview_a_question_of_picking_all_that_apply(
    screens: Screens, site: str
) -> None:
    page = new_question(screens, site)
    hint = page.locator(".preview-projector").get_by_text("Pick all that apply")
    for number, prime in [(1, "2"), (2, "3")]:
        page.get_by_label(f"Answer {number}", exact=True).fill(prime)
        correct_marks(page).nth(number - 1).check()
    expect(hint).to_be_visible()
    correct_marks(page).first.uncheck()
    expect(hint).to_be_hidden()
