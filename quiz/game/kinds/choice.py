"""Multiple choice: 2–4 choices, one or more right; a player picks one, or all that apply."""

from django.core.exceptions import ValidationError

from quiz.game.kinds.base import AuthoredChoices, QuestionKind
from quiz.game.models import Kind


class MultipleChoice(QuestionKind):
    kind = Kind.CHOICE
    report_name = ""  # the kind of old goes without saying

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        if not any(correct for _, correct in choices):
            return [ValidationError("At least one choice must be correct.")]
        return []
