"""The authoring rules, in one place: forms, import, admin and the authoring services call these."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.template.defaultfilters import filesizeformat

# A question's points, as the author picks them: (value, name).
POINTS_CHOICES = ((0, "No points"), (1000, "Standard"), (2000, "Double"))
POINTS = tuple(value for value, _ in POINTS_CHOICES)
DEFAULT_POINTS = 1000
MIN_TIME, MAX_TIME = 5, 120
MIN_CHOICES, MAX_CHOICES = 2, 4
MIN_ORDER_ITEMS = 3
TYPED_ANSWER_MAX = 100  # characters a player may type, and an accepted answer may have
DESCRIPTION_MAX = 2000  # characters of a quiz's description
TRUE, FALSE = "True", "False"


class Kind:
    """A question's kind: how it is asked, answered and scored."""

    CHOICE = "choice"  # 2–4 choices, one or more right
    TRUE_FALSE = "true_false"  # the choices "True" and "False", one right
    POLL = "poll"  # 2–4 choices, none right: no points, the distribution is the result
    TYPE_ANSWER = "type_answer"  # the player types; the choices are the accepted answers
    ORDER = "order"  # 3–4 items; the choices' positions are the right order

    CHOICES = (
        (CHOICE, "Multiple choice"),
        (TRUE_FALSE, "True or false"),
        (POLL, "Poll (no right answer, no points)"),
        (TYPE_ANSWER, "Type answer"),
        (ORDER, "Put in order"),
    )
    ALL = tuple(value for value, _ in CHOICES)


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


def correctness(kind: str, marked: bool) -> bool:
    """A choice's correctness as a question of `kind` has it: accepted answers are all right,
    poll choices and order items never; multiple choice and true/false as marked."""
    if kind == Kind.TYPE_ANSWER:
        return True
    if kind in (Kind.POLL, Kind.ORDER):
        return False
    return marked


def validate_choices(choices: list[tuple[str, bool]], kind: str = Kind.CHOICE) -> None:
    """The choices a question of `kind` needs; every broken rule is reported.

    Multiple choice: 2–4, at least one correct. True or false: "True" and "False", one correct.
    Poll: 2–4, none correct. Type answer: 1–4 accepted answers (all correct) a player could
    type. Order: 3–4 items, in the right order, none marked correct."""
    errors = []
    low, high, noun = {
        Kind.TYPE_ANSWER: (1, MAX_CHOICES, "accepted answers"),
        Kind.ORDER: (MIN_ORDER_ITEMS, MAX_CHOICES, "items to order"),
    }.get(kind, (MIN_CHOICES, MAX_CHOICES, "choices"))
    if not low <= len(choices) <= high:
        errors.append(ValidationError(f"A question has {low} to {high} {noun}."))
    if any(not t.strip() for t, _ in choices):
        errors.append(
            ValidationError(
                "Every choice needs text."
                if noun == "choices"
                else f"Every one of the {noun} needs text."
            )
        )
    correct = sum(ok for _, ok in choices)
    if kind == Kind.CHOICE and not correct:
        errors.append(ValidationError("At least one choice must be correct."))
    if kind == Kind.TRUE_FALSE and ([t for t, _ in choices] != [TRUE, FALSE] or correct != 1):
        errors.append(ValidationError('The choices are "True" and "False", one of them correct.'))
    if kind in (Kind.POLL, Kind.ORDER) and correct:
        errors.append(ValidationError(f"A question of kind {kind} has no choice marked correct."))
    if kind == Kind.TYPE_ANSWER and correct != len(choices):
        errors.append(ValidationError("Every accepted answer is correct."))
    if kind == Kind.TYPE_ANSWER and any(len(t.strip()) > TYPED_ANSWER_MAX for t, _ in choices):
        errors.append(
            ValidationError(f"An accepted answer has at most {TYPED_ANSWER_MAX} characters.")
        )
    if kind not in Kind.ALL:
        errors.append(ValidationError(f"The kind is one of {', '.join(Kind.ALL)}."))
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
