"""Poll: 2–4 choices, none right; no points, and the distribution is the result."""

from django.core.exceptions import ValidationError

from quiz.game.kinds.base import AuthoredChoices, QuestionKind
from quiz.game.models import Kind


class Poll(QuestionKind):
    kind = Kind.POLL
    fixed_correctness = False
    scored = False  # nobody's points or streak change
    rows_legend = "Options"
    rows_hint = "2 to 4; none is right, and nobody scores. Leave a row empty to skip it."
    row_name = "Option"

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        return self._none_marked_correct(choices)
