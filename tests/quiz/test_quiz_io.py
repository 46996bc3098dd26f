"""Quizzes survive export and import unchanged; bad documents change nothing."""

import pytest
from django.core.exceptions import ValidationError

from quiz.game.models import Quiz
from quiz.game.quiz_io import export_quiz, import_quiz


def test_export_import_round_trip(quiz: Quiz, author) -> None:
    copy = import_quiz(author=author, data=export_quiz(quiz=quiz))
    assert export_quiz(quiz=copy) == export_quiz(quiz=quiz)


@pytest.mark.parametrize("change", [
    {"time_limit": 4}, {"points": 500},
    {"choices": [{"text": "only", "correct": True}]},
    {"choices": [{"text": "a", "correct": False}, {"text": "b", "correct": False}]},
])
def test_import_refuses_invalid_question(quiz: Quiz, author, change: dict) -> None:
    data = export_quiz(quiz=quiz)
    data["questions"][0].update(change)
    with pytest.raises(ValidationError):
        import_quiz(author=author, data=data)
    assert Quiz.objects.count() == 1


def test_author_can_host_from_quiz_list(client, quiz: Quiz, author) -> None:
    client.force_login(author)
    assert client.get("/quizzes/").status_code == 200
    response = client.post(f"/quizzes/{quiz.id}/host/")
    assert response.status_code == 302 and "/host/" in response["Location"]
