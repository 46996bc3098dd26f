"""One home per question kind: a module each, and `of` to find a question's.

Each kind's object holds every rule that differs by kind (base.QuestionKind): the authoring
rules for its choices, what a player's answer is and whether it is right, what the open and
the closed question show. The services, selectors, forms and import call it and never ask
which kind a question is, so a new kind is one module here, one line below, its member of
models.Kind and its part of static/js/answer-kinds.js."""

from quiz.game.kinds.base import QuestionKind
from quiz.game.kinds.choice import MultipleChoice
from quiz.game.kinds.order import Order
from quiz.game.kinds.poll import Poll
from quiz.game.kinds.true_false import TrueFalse
from quiz.game.kinds.type_answer import TypeAnswer

KINDS: dict[str, QuestionKind] = {
    rules.kind: rules for rules in (MultipleChoice(), TrueFalse(), Poll(), TypeAnswer(), Order())
}


def of(kind: str) -> QuestionKind:
    """The rules of a question's kind (`question.kind`)."""
    return KINDS[kind]
