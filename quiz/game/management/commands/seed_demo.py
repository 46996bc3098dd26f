"""Create the demo author and quiz once; running it again changes nothing."""

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from quiz.game.models import Choice, Question, Quiz

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-quiz-123"
DEMO_TITLE = "Demo: world trivia"
DEMO_QUESTIONS = [
    (
        "What is the capital of France?",
        20,
        1000,
        [("Paris", True), ("Lyon", False), ("Marseille", False), ("Nice", False)],
    ),
    ("Which of these are prime numbers?", 30, 1000, [("2", True), ("9", False), ("7", True)]),
    ("The Pacific is the largest ocean.", 10, 2000, [("True", True), ("False", False)]),
]


class Command(BaseCommand):
    help = "Create a demo author and a demo quiz (idempotent) and print the login."

    def handle(self, *args: object, **options: object) -> None:
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        if not Quiz.objects.filter(author=user, title=DEMO_TITLE).exists():
            quiz = Quiz.objects.create(author=user, title=DEMO_TITLE)
            for position, (text, limit, points, choices) in enumerate(DEMO_QUESTIONS):
                question = Question.objects.create(
                    quiz=quiz, position=position, text=text, time_limit=limit, points=points
                )
                Choice.objects.bulk_create(
                    Choice(question=question, position=i, text=t, is_correct=ok)
                    for i, (t, ok) in enumerate(choices)
                )
        self.stdout.write(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
