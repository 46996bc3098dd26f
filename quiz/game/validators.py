"""The authoring rules, in one place: forms, import and admin all call these."""

from typing import Any

from django.core.exceptions import ValidationError

POINTS = (0, 1000, 2000)
MIN_TIME, MAX_TIME = 5, 120


def validate_question(*, text: str, time_limit: int, points: int,
                      choices: list[tuple[str, bool]]) -> None:
    """2–4 non-empty choices, at least one correct, 5–120 s, 0/1000/2000 points."""
    if not text.strip():
        raise ValidationError("A question needs text.")
    if not MIN_TIME <= time_limit <= MAX_TIME:
        raise ValidationError(f"The time limit is {MIN_TIME} to {MAX_TIME} seconds.")
    if points not in POINTS:
        raise ValidationError("Points are 0, 1000 or 2000.")
    if not 2 <= len(choices) <= 4:
        raise ValidationError("A question has 2 to 4 choices.")
    if any(not t.strip() for t, _ in choices):
        raise ValidationError("Every choice needs text.")
    if not any(ok for _, ok in choices):
        raise ValidationError("At least one choice must be correct.")


def validate_quiz_data(data: Any) -> None:
    """Check an imported quiz document before anything is written."""
    if not isinstance(data, dict) or not str(data.get("title", "")).strip():
        raise ValidationError("A quiz needs a title.")
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        raise ValidationError("A quiz needs at least one question.")
    for number, q in enumerate(questions, start=1):
        try:
            validate_question(
                text=str(q.get("text", "")), time_limit=int(q.get("time_limit", 20)),
                points=int(q.get("points", 1000)),
                choices=[(str(c.get("text", "")), bool(c.get("correct")))
                         for c in q.get("choices", [])])
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValidationError(f"Question {number} is malformed.") from exc
        except ValidationError as exc:
            raise ValidationError(f"Question {number}: {exc.messages[0]}") from exc
