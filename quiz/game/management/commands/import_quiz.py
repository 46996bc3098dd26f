from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from quiz.game.quiz_io import import_quiz, read_document


class Command(BaseCommand):
    help = "Import a quiz from a JSON file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--author", default="demo")

    def handle(self, *args: object, file: str, author: str, **options: object) -> None:
        user = User.objects.filter(username=author).first()
        if user is None:
            raise CommandError(f"No user {author!r}.")
        try:
            with open(file, "rb") as fh:
                data = read_document(fh)
            quiz = import_quiz(author=user, data=data)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        except OSError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        self.stdout.write(f"Imported quiz {quiz.id}: {quiz.title}")
