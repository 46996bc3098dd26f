"""Quizzes as JSON documents: export, and import under exactly the authoring forms' rules.

A picture uploaded to the site travels inside the document, as a data URL under "image"
(`{"name": "paris.png", "data": "data:image/png;base64,..."}`), so a quiz exported here
imports with its pictures anywhere; a picture given by its address stays an "image_url".

An imported document is checked whole before anything is written: first its size (the
file's bytes, then its number of questions), then the JSON types (text is a string, numbers
are whole numbers, `correct` is true or false), then the forms that authors fill in (kind,
lengths, http(s) picture addresses, time limits, points, picture sizes), then the question's
own rules for its kind (validators.validate_choices). The first violation is refused with a
message that names its field, e.g. "question 2, choice 1, correct: ..."."""

import base64
import binascii
import json
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from quiz.game import kinds
from quiz.game.forms import ChoiceFormSet, QuestionForm, QuizForm
from quiz.game.models import DEFAULT_POINTS, Choice, Kind, Question, Quiz
from quiz.game.validators import validate_question, validate_question_count

logger = logging.getLogger(__name__)
DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


def _embedded_image(question: Question) -> dict[str, str] | None:
    """The uploaded picture as a data URL, or None if there is none (or its file is gone)."""
    if not question.image:
        return None
    try:
        with question.image.open("rb") as file:
            content = file.read()
    except OSError:
        logger.warning(
            "Exported question %s without its missing picture %s", question.pk, question.image.name
        )
        return None
    name = PurePath(question.image.name).name
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"name": name, "data": f"data:{kind};base64,{base64.b64encode(content).decode()}"}


def _exported_choice(kind: str, choice: Choice) -> dict[str, Any]:
    """A choice; its correctness only where the kind leaves it to the author."""
    if kinds.of(kind).fixed_correctness is None:
        return {"text": choice.text, "correct": choice.is_correct}
    return {"text": choice.text}


def export_quiz(*, quiz: Quiz) -> dict[str, Any]:
    questions = []
    for q in quiz.questions.all():
        question = {
            "kind": q.kind,
            "text": q.text,
            "image_url": q.image_url,
            "time_limit": q.time_limit,
            "points": q.points,
            "choices": [_exported_choice(q.kind, c) for c in q.choices.all()],
        }
        if image := _embedded_image(q):
            question["image"] = image
        questions.append(question)
    return {"title": quiz.title, "description": quiz.description, "questions": questions}


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


_TYPE_NAMES = {
    str: "text",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}
QUIZ_FIELDS = {"title": _Field(str), "description": _Field(str, ""), "questions": _Field(list)}
QUESTION_FIELDS = {
    "kind": _Field(str, Kind.CHOICE),
    "text": _Field(str),
    "image_url": _Field(str, ""),
    "image": _Field(dict, {}),
    "time_limit": _Field(int, 20),
    "points": _Field(int, DEFAULT_POINTS),
    "choices": _Field(list),
}
CHOICE_FIELDS = {"text": _Field(str), "correct": _Field(bool)}
# a poll's choices, a type answer's accepted answers and an order's items: correctness is
# the kind's (QuestionKind.fixed_correctness), so a document need not say it
KIND_CHOICE_FIELDS = {
    kind: {"text": _Field(str), "correct": _Field(bool, rules.fixed_correctness)}
    for kind, rules in kinds.KINDS.items()
    if rules.fixed_correctness is not None
}
IMAGE_FIELDS = {"name": _Field(str), "data": _Field(str)}


def _uploaded(image: dict[str, Any], where: str) -> dict[str, SimpleUploadedFile]:
    """An embedded picture as the question form's upload, or no upload."""
    if not image:
        return {}
    where = f"{where}image, "
    fields = _typed(image, IMAGE_FIELDS, where)
    match = DATA_URL.fullmatch(fields["data"])
    if match is None:
        raise ValidationError(f"{where}data: must be a data URL (data:<type>;base64,...).")
    try:
        content = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{where}data: is not valid base64.") from None
    name = PurePath(fields["name"]).name or "picture"
    return {"image": SimpleUploadedFile(name, content, content_type=match["type"])}


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
    cleaned = _formed(
        QuizForm(data={"title": quiz["title"], "description": quiz["description"]}), ""
    )
    if not quiz["questions"]:
        raise ValidationError("questions: a quiz needs at least one question.")
    try:
        validate_question_count(len(quiz["questions"]))
    except ValidationError as error:
        raise ValidationError(f"questions: {error.messages[0]}") from None
    cleaned["questions"] = []
    for number, raw in enumerate(quiz["questions"], start=1):
        where = f"question {number}, "
        question = _typed(raw, QUESTION_FIELDS, where)
        form = _formed(
            QuestionForm(
                data={
                    name: question[name]
                    for name in ("kind", "text", "image_url", "time_limit", "points")
                },
                files=_uploaded(question["image"], where),
            ),
            where,
        )
        choices = []
        for index, raw_choice in enumerate(question["choices"], start=1):
            choice_where = f"{where}choice {index}, "
            choice = _typed(
                raw_choice, KIND_CHOICE_FIELDS.get(form["kind"], CHOICE_FIELDS), choice_where
            )
            text = _formed(ChoiceFormSet.form(data={"text": choice["text"]}), choice_where)
            choices.append((text["text"], choice["correct"]))
        try:
            validate_question(
                kind=form["kind"],
                text=form["text"],
                time_limit=form["time_limit"],
                points=form["points"],
                choices=choices,
            )
        except ValidationError as error:
            raise ValidationError(f"{where}choices: {error.messages[0]}") from None
        cleaned["questions"].append({**form, "choices": choices})
    return cleaned


def read_document(file: IO[bytes]) -> Any:
    """The JSON document in an uploaded or opened file, read no further than
    QUIZ_IMPORT_MAX_BYTES: a larger file is refused before any of it is parsed."""
    limit = settings.QUIZ_IMPORT_MAX_BYTES
    content = file.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(f"A quiz file may be at most {filesizeformat(limit)}.")
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        raise ValidationError("The file is not a JSON document.") from None


def import_quiz(*, author: AbstractBaseUser, data: Any) -> Quiz:
    """Check the whole document (clean_quiz_data) and store its pictures, then write the quiz
    in one short transaction of a few queries, however many questions it has: on SQLite a
    write transaction holds the one writer's turn that every live game's answers and joins
    wait for, so nothing slow may happen inside it."""
    cleaned = clean_quiz_data(data)
    questions = [
        Question(
            position=position,
            text=q["text"],
            image_url=q["image_url"],
            time_limit=q["time_limit"],
            points=q["points"],
            kind=q["kind"],
        )
        for position, q in enumerate(cleaned["questions"])
    ]
    for question, q in zip(questions, cleaned["questions"], strict=True):
        if q["image"]:
            question.image.save(q["image"].name, q["image"], save=False)
    try:
        with transaction.atomic():
            quiz = Quiz.objects.create(
                author=author, title=cleaned["title"], description=cleaned["description"]
            )
            for question in questions:
                question.quiz = quiz
            Question.objects.bulk_create(questions)
            Choice.objects.bulk_create(
                Choice(question=question, position=i, text=text, is_correct=correct)
                for question, q in zip(questions, cleaned["questions"], strict=True)
                for i, (text, correct) in enumerate(q["choices"])
            )
    except Exception:
        for question in questions:
            question.image.delete(save=False)
        raise
    return quiz
