"""Type answer: the player types; the question's 1–4 choices are the answers accepted, where
case, accents and surrounding spaces do not count (models.typed_answer_key)."""

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count

from quiz.game.errors import GameError
from quiz.game.kinds.base import (
    AuthoredChoices,
    GivenAnswer,
    QuestionKind,
    ReadAnswer,
    StoredAnswer,
)
from quiz.game.models import Answer, Choice, Game, Kind, Question, typed_answer_key

TYPED_ANSWER_MAX = 100  # characters a player may type, and an accepted answer may have


class TypeAnswer(QuestionKind):
    kind = Kind.TYPE_ANSWER
    min_choices = 1
    noun = "accepted answers"
    fixed_correctness = True
    rows_legend = "Accepted answers"
    rows_hint = (
        "1 to 4: what a player types is right if it is one of them (case, accents and spaces"
        " do not count). Leave a row empty to skip it."
    )
    row_name = "Accepted answer"

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        errors = []
        if not all(correct for _, correct in choices):
            errors.append(ValidationError("Every accepted answer is correct."))
        if any(len(text.strip()) > TYPED_ANSWER_MAX for text, _ in choices):
            errors.append(
                ValidationError(f"An accepted answer has at most {TYPED_ANSWER_MAX} characters.")
            )
        return errors

    def answers_to(self, *, game_id: int, question_id: int) -> ReadAnswer:
        """An answer is the text typed, 1 to TYPED_ANSWER_MAX characters, and no choice."""

        def given(choice_ids: Sequence[int], text: str | None) -> GivenAnswer:
            typed = (text or "").strip()
            if choice_ids or not 1 <= len(typed) <= TYPED_ANSWER_MAX:
                raise GameError(
                    "invalid_text", f"Type an answer of 1 to {TYPED_ANSWER_MAX} characters.", 400
                )
            return GivenAnswer(text=typed)

        return given

    def judge(self, choices: Sequence[Choice]) -> Callable[[StoredAnswer], bool]:
        accepted = {typed_answer_key(c.text) for c in choices}
        return lambda answer: typed_answer_key(answer.text) in accepted

    def shown_choices(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> list[dict[str, Any]]:
        return []  # the accepted answers are the answer

    def multiple(self, choices: Sequence[Choice]) -> bool:
        return False

    def outcome(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> dict[str, Any]:
        """The accepted answers and how many typed each (`other`: typed something else)."""
        first_of: dict[str, str] = {}
        for choice in choices:
            first_of.setdefault(typed_answer_key(choice.text), str(choice.id))
        distribution = {str(c.id): 0 for c in choices} | {"other": 0}
        answers = Answer.objects.filter(question=question, player__game=game)
        # counted by the database per text as typed (few distinct ones), then matched here
        for text, n in answers.values_list("text").annotate(n=Count("id")).order_by():
            distribution[first_of.get(typed_answer_key(text), "other")] += n
        return {
            "accepted_answers": [{"id": c.id, "text": c.text} for c in choices],
            "distribution": distribution,
        }
