"""The demo: a quiz that shows every question kind, each under the authoring rules, and an
author whose password is this installation's own, never one published in the repository
(a second login as a published demo read a live game's answers, kicked a
player and ended the game)."""

import io
import stat
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from quiz.game.models import Kind, Quiz
from quiz.game.validators import validate_question

# What older versions set, and the README and docs printed.
PUBLISHED_PASSWORD = "demo-quiz-123"


@pytest.fixture(autouse=True)
def password_file(settings, tmp_path: Path) -> Path:
    settings.QUIZ_DEMO_PASSWORD_FILE = tmp_path / "var" / "demo_password"
    return settings.QUIZ_DEMO_PASSWORD_FILE


def seed_demo() -> str:
    """What `manage.py seed_demo` prints."""
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    return output.getvalue()


def test_the_demo_quiz_has_a_valid_question_of_every_kind(db) -> None:
    seed_demo()
    quiz = Quiz.objects.get(author__username="demo")
    for question in quiz.questions.all():
        validate_question(
            kind=question.kind,
            text=question.text,
            time_limit=question.time_limit,
            points=question.points,
            choices=[(c.text, c.is_correct) for c in question.choices.all()],
        )
    assert {q.kind for q in quiz.questions.all()} == set(Kind.values)


def test_the_demo_author_does_not_take_the_published_password(db) -> None:
    seed_demo()
    assert not User.objects.get(username="demo").check_password(PUBLISHED_PASSWORD)


def test_an_older_installations_demo_author_loses_the_published_password(db) -> None:
    User.objects.create_user("demo", password=PUBLISHED_PASSWORD)
    seed_demo()
    assert not User.objects.get(username="demo").check_password(PUBLISHED_PASSWORD)


def test_the_demo_password_is_made_once_kept_for_its_owner_only_and_printed(
    db, password_file: Path
) -> None:
    printed = seed_demo()
    password = password_file.read_text().strip()
    assert len(password) >= 16
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert User.objects.get(username="demo").check_password(password)
    assert f"demo / {password}" in printed
    assert seed_demo() == printed
