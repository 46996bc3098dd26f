"""The authoring rules, in one place: forms, import, admin and the authoring services call these."""

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator

# A question's points, as the author picks them: (value, name).
POINTS_CHOICES = ((0, "No points"), (1000, "Standard"), (2000, "Double"))
POINTS = tuple(value for value, _ in POINTS_CHOICES)
DEFAULT_POINTS = 1000
MIN_TIME, MAX_TIME = 5, 120
MIN_CHOICES, MAX_CHOICES = 2, 4
IMAGE_EXTENSIONS = ("gif", "jpeg", "jpg", "png", "webp")
MAX_IMAGE_BYTES = 5 * 1024 * 1024


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


def validate_choices(choices: list[tuple[str, bool]]) -> None:
    """2–4 non-empty choices, at least one correct; every broken rule is reported."""
    errors = []
    if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        errors.append(ValidationError(f"A question has {MIN_CHOICES} to {MAX_CHOICES} choices."))
    if any(not t.strip() for t, _ in choices):
        errors.append(ValidationError("Every choice needs text."))
    if not any(ok for _, ok in choices):
        errors.append(ValidationError("At least one choice must be correct."))
    if errors:
        raise ValidationError(errors)


def validate_image_upload(file: File) -> None:
    """Pictures only (served from our own origin, so no SVG), and small enough for phones."""
    extension = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    if extension not in IMAGE_EXTENSIONS:
        raise ValidationError(f"The image must be one of: {', '.join(IMAGE_EXTENSIONS)}.")
    if file.size > MAX_IMAGE_BYTES:
        raise ValidationError(f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")


def validate_question(
    *, text: str, time_limit: int, points: int, choices: list[tuple[str, bool]]
) -> None:
    """All of a question's rules at once, every broken one reported, text first."""
    errors: list[ValidationError] = []
    for rule, value in [
        (validate_question_text, text),
        (validate_time_limit, time_limit),
        (validate_points, points),
        (validate_choices, choices),
    ]:
        try:
            rule(value)
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
