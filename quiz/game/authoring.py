"""Authoring rules: a question is written with its choices in one transaction, and a quiz's
questions keep dense positions 0..n-1 through adds, deletes and moves."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.db.models import Max

from quiz.game.kinds.true_false import FALSE, TRUE
from quiz.game.models import Choice, Question, Quiz
from quiz.game.validators import validate_question


@dataclass(frozen=True)
class ChoiceInput:
    """One choice as the author left it; `id` names an existing choice to keep and update."""

    text: str
    is_correct: bool
    id: int | None = None


def true_false_choices(*, question: Question, truth: bool) -> list[ChoiceInput]:
    """The shortcut for writing a true/false question: its choices "True" and "False", the
    one `truth` names right (existing ones kept, so past answers still point at them)."""
    existing = {c.text: c.id for c in question.choices.all()} if question.pk else {}
    return [
        ChoiceInput(text=TRUE, is_correct=truth, id=existing.get(TRUE)),
        ChoiceInput(text=FALSE, is_correct=not truth, id=existing.get(FALSE)),
    ]


@transaction.atomic
def save_question(*, question: Question, choices: Sequence[ChoiceInput]) -> Question:
    """Write a new or changed question (its `quiz` set) and exactly these choices, in order.

    A new question goes last. Choices that are kept are updated in place, so past answers
    still point at them; choices left out are deleted."""
    validate_question(
        kind=question.kind,
        text=question.text,
        time_limit=question.time_limit,
        points=question.points,
        choices=[(c.text, c.is_correct) for c in choices],
    )
    if question.pk is None:
        last = question.quiz.questions.aggregate(last=Max("position"))["last"]
        question.position = 0 if last is None else last + 1
    question.save()
    existing = {c.id: c for c in question.choices.all()}
    kept = {c.id for c in choices if c.id is not None}
    question.choices.exclude(id__in=kept).delete()
    for position, given in enumerate(choices):
        choice = existing.get(given.id) or Choice(question=question)
        choice.position, choice.text, choice.is_correct = position, given.text, given.is_correct
        choice.save()
    return question


def _renumber(questions: list[Question]) -> None:
    for position, question in enumerate(questions):
        if question.position != position:
            question.position = position
            question.save(update_fields=["position"])


def _locked_questions(quiz: Quiz) -> list[Question]:
    return list(Question.objects.select_for_update().filter(quiz=quiz).order_by("position", "id"))


@transaction.atomic
def move_question(*, question: Question, direction: Literal["up", "down"]) -> bool:
    """Swap a question with its neighbour; False when it is already first (up) or last (down)."""
    questions = _locked_questions(question.quiz)
    index = next(i for i, q in enumerate(questions) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(questions):
        return False
    questions[index], questions[other] = questions[other], questions[index]
    _renumber(questions)
    return True


@transaction.atomic
def delete_question(*, question: Question) -> None:
    """Delete a question and close the gap it leaves in the order."""
    quiz = question.quiz
    question.delete()
    _renumber(_locked_questions(quiz))
