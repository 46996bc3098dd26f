"""Quizzes as JSON documents: export, and validated import."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from quiz.game.models import Choice, Question, Quiz
from quiz.game.validators import validate_quiz_data


def export_quiz(*, quiz: Quiz) -> dict[str, Any]:
    return {"title": quiz.title, "description": quiz.description, "questions": [
        {"text": q.text, "image_url": q.picture_url or "", "time_limit": q.time_limit,
         "points": q.points,
         "choices": [{"text": c.text, "correct": c.is_correct} for c in q.choices.all()]}
        for q in quiz.questions.all()]}


@transaction.atomic
def import_quiz(*, author: AbstractBaseUser, data: Any) -> Quiz:
    """Validate the whole document first, then create the quiz."""
    validate_quiz_data(data)
    quiz = Quiz.objects.create(author=author, title=data["title"].strip(),
                               description=data.get("description", ""))
    for position, q in enumerate(data["questions"]):
        question = Question.objects.create(
            quiz=quiz, position=position, text=q["text"], image_url=q.get("image_url", ""),
            time_limit=int(q.get("time_limit", 20)), points=int(q.get("points", 1000)))
        Choice.objects.bulk_create(
            Choice(question=question, position=i, text=c["text"], is_correct=bool(c["correct"]))
            for i, c in enumerate(q["choices"]))
    return quiz
