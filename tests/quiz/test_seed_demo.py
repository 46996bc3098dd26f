"""The demo quiz shows every question kind, each under the authoring rules."""

from django.core.management import call_command

from quiz.game.models import Quiz
from quiz.game.validators import Kind, validate_question


def test_the_demo_quiz_has_a_valid_question_of_every_kind(db) -> None:
    call_command("seed_demo")
    quiz = Quiz.objects.get(author__username="demo")
    for question in quiz.questions.all():
        validate_question(
            kind=question.kind,
            text=question.text,
            time_limit=question.time_limit,
            points=question.points,
            choices=[(c.text, c.is_correct) for c in question.choices.all()],
        )
    assert {q.kind for q in quiz.questions.all()} == set(Kind.ALL)
