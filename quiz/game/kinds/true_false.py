"""True or false: the choices "True" and "False", one of them right."""

from django.core.exceptions import ValidationError

from quiz.game.kinds.base import AuthoredChoices, QuestionKind
from quiz.game.models import Kind

TRUE, FALSE = "True", "False"


class TrueFalse(QuestionKind):
    kind = Kind.TRUE_FALSE
    written_from_truth = True

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        texts = [text for text, _ in choices]
        if texts != [TRUE, FALSE] or sum(correct for _, correct in choices) != 1:
            return [ValidationError('The choices are "True" and "False", one of them correct.')]
        return []
