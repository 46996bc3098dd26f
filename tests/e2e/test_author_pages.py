"""The author's pages as an author reads them after a game: the quiz's editor and a game's
report, on a laptop and a phone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from game_screens import HOST_LOGIN, PHONES, PROJECTORS, SHOTS, Screens, size
from playwright.sync_api import expect

from quiz.game import services
from quiz.game.models import Choice, Game, Player, Question, Quiz

# Every word of the page's main part that is split over two lines ("Ran/k", "674/3").
WORDS_BROKEN = """() => {
  const broken = [];
  const texts = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    for (const word of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  return broken;
}"""


@pytest.fixture
def played_game(site: str) -> Game:
    """A finished game of ten questions and six players, played through the services."""
    host = User.objects.get(username=HOST_LOGIN[0])
    quiz = Quiz.objects.get()
    for position in range(2, 10):
        question = Question.objects.create(
            quiz=quiz, position=position, text=f"Question number {position + 1}?", time_limit=60
        )
        Choice.objects.create(question=question, position=0, text="Right", is_correct=True)
        Choice.objects.create(question=question, position=1, text="Wrong", is_correct=False)
    game = services.create_game(quiz=quiz, host=host)
    players = [
        services.join_game(game_id=game.id, nickname=name)
        for name in ("Ann", "Bob", "Cem", "Dee", "Maximilian Oberhuber", "Eve")
    ]
    services.start_game(game_id=game.id, user=host)
    for _ in range(quiz.questions.count()):
        game.refresh_from_db()
        question = game.current_question
        for place, player in enumerate(players):
            choice = question.choices.all()[place % 2]
            services.submit_answer(
                answer=services.ArrivedAnswer(
                    game_id=game.id,
                    player_id=player.id,
                    question_id=question.id,
                    choice_ids=[choice.id],
                    reaction_ms=800 + 300 * place,
                )
            )
        services.close_question(game_id=game.id, user=host)
        services.open_next_question(game_id=game.id, user=host)
    game.refresh_from_db()
    assert game.state == Game.State.FINISHED and Player.objects.filter(score__gt=999).exists()
    return game


@pytest.mark.parametrize("screen", ["projector-1366", "phone-390"])
def test_the_report_breaks_no_word_or_number(
    screens: Screens, site: str, played_game: Game, screen: str
) -> None:
    dimensions = {**PROJECTORS, **PHONES}[screen]
    page = screens.author(site, viewport=size(dimensions))
    page.goto(f"{site}/games/{played_game.id}/report/")
    expect(page.locator("#report-players tbody tr")).to_have_count(6)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"report-{screen}.png", full_page=True)
    assert page.evaluate(WORDS_BROKEN) == []
    assert page.evaluate("document.scrollingElement.scrollWidth") <= dimensions[0]


def test_the_editor_gives_a_poll_no_points(screens: Screens, site: str) -> None:
    quiz = Quiz.objects.get()
    poll = Question.objects.create(quiz=quiz, position=2, text="Best season?", kind="poll")
    for position, text in enumerate(["Summer", "Winter"]):
        Choice.objects.create(question=poll, position=position, text=text)
    page = screens.author(site, viewport=size(PROJECTORS["projector-1366"]))
    page.goto(f"{site}/quizzes/{quiz.id}/edit/")
    expect(page.locator(f"#question-{poll.id} .hint")).to_have_text(
        "Poll (no right answer, no points) · 20 s"
    )
