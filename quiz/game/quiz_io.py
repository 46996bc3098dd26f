"""Quizzes as JSON documents: export, and import under exactly the authoring forms' rules.

An imported document is checked whole before anything is written: first the JSON types
(text is a string, numbers are whole numbers, `correct` is true or false), then the forms
that authors fill in (lengths, http(s) picture addresses, time limits, points), then the
question's own rules (2–4 choices, one correct at least). The first violation is refused
with a message that names its field, e.g. "question 2, choice 1, correct: ..."."""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from quiz.game.forms import ChoiceFormSet, QuestionForm, QuizForm
from quiz.game.models import Choice, Question, Quiz
from quiz.game.validators import validate_question


def export_quiz(*, quiz: Quiz) -> dict[str, Any]:
    return {"title": quiz.title, "description": quiz.description, "questions": [
        {"text": q.text, "image_url": q.picture_url or "", "time_limit": q.time_limit,
         "points": q.points,
         "choices": [{"text": c.text, "correct": c.is_correct} for c in q.choices.all()]}
        for q in quiz.questions.all()]}


@dataclass(frozen=True)
class _Field:
    """A field of the document: its JSON type, and its value when it is left out."""

    kind: type
    default: Any = None  # None: required

    def read(self, data: dict[str, Any], name: str, where: str) -> Any:
        if name not in data:
            if self.default is None:
                raise ValidationError(f"{where}{name}: is missing.")
            return self.default
        value = data[name]
        if self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            raise ValidationError(f"{where}{name}: must be {_TYPE_NAMES[self.kind]}.")
        return value


_TYPE_NAMES = {str: "text", int: "a whole number", bool: "true or false", list: "a list",
               dict: "an object"}
QUIZ_FIELDS = {"title": _Field(str), "description": _Field(str, ""),
               "questions": _Field(list)}
QUESTION_FIELDS = {"text": _Field(str), "image_url": _Field(str, ""),
                   "time_limit": _Field(int, 20), "points": _Field(int, 1000),
                   "choices": _Field(list)}
CHOICE_FIELDS = {"text": _Field(str), "correct": _Field(bool)}


def _typed(data: Any, fields: dict[str, _Field], where: str) -> dict[str, Any]:
    """The document's fields at `where` ("question 2, "), each of its JSON type."""
    if not isinstance(data, dict):
        raise ValidationError(f"{where.rstrip(', ') or 'the quiz'}: must be an object.")
    return {name: field.read(data, name, where) for name, field in fields.items()}


def _formed(form: forms.BaseForm, where: str) -> dict[str, Any]:
    """The form's cleaned data, or its first error, named by field."""
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise ValidationError(f"{where}{name}: {errors[0]}")
    return form.cleaned_data


def clean_quiz_data(data: Any) -> dict[str, Any]:
    """The document as the authoring forms would save it, or a ValidationError naming the
    first field that breaks a rule."""
    quiz = _typed(data, QUIZ_FIELDS, "")
    cleaned = _formed(QuizForm(data={"title": quiz["title"],
                                     "description": quiz["description"]}), "")
    if not quiz["questions"]:
        raise ValidationError("questions: a quiz needs at least one question.")
    cleaned["questions"] = []
    for number, raw in enumerate(quiz["questions"], start=1):
        where = f"question {number}, "
        question = _typed(raw, QUESTION_FIELDS, where)
        form = _formed(QuestionForm(data={name: question[name] for name in (
            "text", "image_url", "time_limit", "points")}), where)
        choices = []
        for index, raw_choice in enumerate(question["choices"], start=1):
            choice_where = f"{where}choice {index}, "
            choice = _typed(raw_choice, CHOICE_FIELDS, choice_where)
            text = _formed(ChoiceFormSet.form(data={"text": choice["text"]}), choice_where)
            choices.append((text["text"], choice["correct"]))
        try:
            validate_question(text=form["text"], time_limit=form["time_limit"],
                              points=form["points"], choices=choices)
        except ValidationError as error:
            raise ValidationError(f"{where}choices: {error.messages[0]}") from None
        cleaned["questions"].append({**form, "choices": choices})
    return cleaned


@transaction.atomic
def import_quiz(*, author: AbstractBaseUser, data: Any) -> Quiz:
    """Check the whole document first (clean_quiz_data), then create the quiz."""
    cleaned = clean_quiz_data(data)
    quiz = Quiz.objects.create(author=author, title=cleaned["title"],
                               description=cleaned["description"])
    for position, q in enumerate(cleaned["questions"]):
        question = Question.objects.create(
            quiz=quiz, position=position, text=q["text"], image_url=q["image_url"],
            time_limit=q["time_limit"], points=q["points"])
        Choice.objects.bulk_create(
            Choice(question=question, position=i, text=text, is_correct=correct)
            for i, (text, correct) in enumerate(q["choices"]))
    return quiz
