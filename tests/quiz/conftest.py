"""Fixtures for game tests: an author, a two-question quiz, a game with players."""



import pytest
from django.contrib.auth.models import User

from quiz.game import services
from quiz.game.models import Choice, Game, Question, Quiz


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Capture frames instead of sending them, and keep timers from firing."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("quiz.game.publisher.publish", lambda d, f: sent.append((d, f)))
    monkeypatch.setattr(services, "schedule_close", lambda **kw: None)
    return sent


@pytest.fixture
def author(db) -> User:
    return User.objects.create_user("author", password="pw-123456")


@pytest.fixture
def quiz(author: User) -> Quiz:
    quiz = Quiz.objects.create(author=author, title="Capitals")
    for i, (text, choices) in enumerate([
        ("Capital of France?", [("Paris", True), ("Rome", False)]),
        ("Even numbers?", [("2", True), ("3", False), ("4", True)]),
    ]):
        q = Question.objects.create(quiz=quiz, position=i, text=text, time_limit=20, points=1000)
        for j, (ct, ok) in enumerate(choices):
            Choice.objects.create(question=q, position=j, text=ct, is_correct=ok)
    return quiz


@pytest.fixture
def game(quiz: Quiz, author: User) -> Game:
    return services.create_game(quiz=quiz, host=author)
