"""The authoring rules, in one place: forms, import, admin and the authoring services call these.
What a question's choices must be is its kind's rule (quiz/game/kinds/)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.template.defaultfilters import filesizeformat

from quiz.game import kinds
from quiz.game.models import POINTS_CHOICES, Kind

POINTS = tuple(value for value, _ in POINTS_CHOICES)
MIN_TIME, MAX_TIME = 5, 120
DESCRIPTION_MAX = 2000  # characters of a quiz's description
IMAGE_EXTENSIONS = ("gif", "jpeg", "jpg", "png", "webp")


# A picture's address is fetched by every player's browser: web addresses only.
validate_picture_url = URLValidator(
    schemes=["http", "https"],
    code="not_web_address",
    message="Enter an http:// or https:// address.",
)


def validate_question_text(text: str) -> None:
    if not text.strip():
        raise ValidationError("A question needs text.")


def validate_time_limit(seconds: int) -> None:
    if not MIN_TIME <= seconds <= MAX_TIME:
        raise ValidationError(f"The time limit is {MIN_TIME} to {MAX_TIME} seconds.")


def validate_points(points: int) -> None:
    if points not in POINTS:
        allowed = ", ".join(str(value) for value in POINTS[:-1])
        raise ValidationError(f"Points are {allowed} or {POINTS[-1]}.")


def validate_choices(choices: list[tuple[str, bool]], kind: str = Kind.CHOICE) -> None:
    """The choices a question of `kind` needs (its module in quiz/game/kinds/); every broken
    rule is reported."""
    if kind not in kinds.KINDS:
        raise ValidationError(f"The kind is one of {', '.join(Kind.values)}.")
    errors = kinds.of(kind).choice_errors(choices)
    if errors:
        raise ValidationError(errors)


def validate_image_upload(file: File) -> None:
    """Pictures only (served from our own origin, so no SVG), and small enough for phones."""
    extension = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    if extension not in IMAGE_EXTENSIONS:
        raise ValidationError(f"The image must be one of: {', '.join(IMAGE_EXTENSIONS)}.")
    if file.size > settings.QUIZ_MAX_PICTURE_BYTES:
        limit = filesizeformat(settings.QUIZ_MAX_PICTURE_BYTES)
        raise ValidationError(f"The image is larger than {limit}.")


def validate_question_count(count: int) -> None:
    if count > settings.QUIZ_MAX_QUESTIONS:
        raise ValidationError(f"A quiz has at most {settings.QUIZ_MAX_QUESTIONS} questions.")


def validate_question(
    *,
    text: str,
    time_limit: int,
    points: int,
    choices: list[tuple[str, bool]],
    kind: str = Kind.CHOICE,
) -> None:
    """All of a question's rules at once, every broken one reported, text first."""
    errors: list[ValidationError] = []
    for rule, value in [
        (validate_question_text, text),
        (validate_time_limit, time_limit),
        (validate_points, points),
        (lambda given: validate_choices(given, kind), choices),
    ]:
        try:
            rule(value)
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
