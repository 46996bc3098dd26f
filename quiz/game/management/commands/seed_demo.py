"""Create the demo author and quiz once; running it again changes nothing.

The demo author's password is this installation's own (settings.QUIZ_DEMO_PASSWORD_FILE),
never one the repository publishes: whoever logs in as a game's host sees its right answers
while a question is open, kicks its players and ends it."""

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from quiz.game.models import Choice, Question, Quiz
from quiz.local_secrets import secret_from_file

DEMO_USERNAME = "demo"
DEMO_PASSWORD_BYTES = 12  # 16 characters to type
DEMO_TITLE = "Demo: world trivia"
# (kind, text, time limit, points, [(choice, correct)]): one question of each kind
DEMO_QUESTIONS = [
    (
        "choice",
        "What is the capital of France?",
        20,
        1000,
        [("Paris", True), ("Lyon", False), ("Marseille", False), ("Nice", False)],
    ),
    (
        "choice",
        "Which of these are prime numbers?",
        30,
        1000,
        [("2", True), ("9", False), ("7", True)],
    ),
    (
        "true_false",
        "The Pacific is the largest ocean.",
        10,
        2000,
        [("True", True), ("False", False)],
    ),
    ("poll", "Which do you like best?", 15, 0, [("Beach", False), ("Mountains", False)]),
    ("type_answer", "What is the capital of Japan?", 20, 1000, [("Tokyo", True)]),
    (
        "order",
        "From smallest to largest?",
        30,
        1000,
        [("Moon", False), ("Mars", False), ("Earth", False), ("Sun", False)],
    ),
]


def demo_password() -> str:
    """This installation's demo password, made on first use."""
    return secret_from_file(settings.QUIZ_DEMO_PASSWORD_FILE, nbytes=DEMO_PASSWORD_BYTES)


def demo_login() -> str | None:
    """The demo login as `make run` prints it, or None before `seed_demo` has made one."""
    if not settings.QUIZ_DEMO_PASSWORD_FILE.exists():
        return None
    return f"{DEMO_USERNAME} / {demo_password()}"


class Command(BaseCommand):
    help = "Create a demo author and a demo quiz (idempotent) and print the login."

    def handle(self, *args: object, **options: object) -> None:
        password = demo_password()
        user, _ = User.objects.get_or_create(username=DEMO_USERNAME)
        # also an older installation's demo author, whose password the repository published
        if not user.check_password(password):
            user.set_password(password)
            user.save()
        if not Quiz.objects.filter(author=user, title=DEMO_TITLE).exists():
            quiz = Quiz.objects.create(author=user, title=DEMO_TITLE)
            for position, (kind, text, limit, points, choices) in enumerate(DEMO_QUESTIONS):
                question = Question.objects.create(
                    quiz=quiz,
                    position=position,
                    kind=kind,
                    text=text,
                    time_limit=limit,
                    points=points,
                )
                Choice.objects.bulk_create(
                    Choice(question=question, position=i, text=t, is_correct=ok)
                    for i, (t, ok) in enumerate(choices)
                )
        self.stdout.write(
            f"Demo login: {DEMO_USERNAME} / {password} "
            f"(this installation's own, kept in {settings.QUIZ_DEMO_PASSWORD_FILE})"
        )
