"""What a question kind is, and how a kind answered by picking choices does each part of it.

Multiple choice, true or false and poll are answered by picking choices, as QuestionKind
does by default; type answer and order override that. A kind's answer screens are its part
of static/js/answer-kinds.js."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db.models import Count

from quiz.game import answer_sql
from quiz.game.errors import GameError
from quiz.game.models import Answer, Choice, Game, Kind, Question

MIN_CHOICES, MAX_CHOICES = 2, 4

# a question's choices as the author wrote them: (text, correct)
AuthoredChoices = Sequence[tuple[str, bool]]


@dataclass(frozen=True)
class GivenAnswer:
    """An answer as it is stored: chosen choices, typed text, or items in order (choice ids,
    comma-separated)."""

    choice_ids: list[int] = field(default_factory=list)
    text: str = ""
    order_ids: str = ""


# reads what a player answered (its choice ids, or its text) as it is stored
ReadAnswer = Callable[[Sequence[int], str | None], GivenAnswer]


class StoredAnswer(Protocol):
    """What judging reads of a recorded answer."""

    @property
    def choice_ids(self) -> Collection[int]: ...

    @property
    def text(self) -> str: ...

    @property
    def order_ids(self) -> str: ...


def refuse_text(text: str | None) -> None:
    """A question answered with choices takes no typed text."""
    if text is not None:
        raise GameError("invalid_choice", "This question takes choices, not text.", 400)


class QuestionKind:
    """One kind of question: the authoring rules for its choices, what a player's answer is
    and whether it is right, and what the screens show of it. One instance per kind
    (quiz.game.kinds.of)."""

    kind: Kind
    min_choices, max_choices = MIN_CHOICES, MAX_CHOICES
    noun = "choices"  # what an author calls its choices
    # every choice's correctness, when the kind sets it; None: the author marks each
    fixed_correctness: bool | None = None
    # the author pages write its choices from one pick (true or false), not from rows
    written_from_truth = False
    scored = True  # whether its answers are right or wrong, and earn points
    # the question page's rows, as the author reads them (a true/false question has none)
    rows_legend = "Answers"
    rows_hint = "2 to 4, each one that is right ticked Correct. Leave a row empty to skip it."
    row_name = "Answer"

    # Authoring

    @property
    def marks_correct(self) -> bool:
        """Whether the author ticks which choices are right (the kind does not set it)."""
        return self.fixed_correctness is None

    def row_label(self, number: int) -> str:
        """The question page's label of its `number`th row (from 1): "Answer 1"."""
        return f"{self.row_name} {number}"

    def correctness(self, marked: bool) -> bool:
        """A choice's correctness: the kind's, or as the author marked it."""
        return marked if self.fixed_correctness is None else self.fixed_correctness

    def choice_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        """Every rule the author's choices break: how many, text in each, then the kind's
        own (_rule_errors)."""
        errors = []
        low, high, noun = self.min_choices, self.max_choices, self.noun
        if not low <= len(choices) <= high:
            errors.append(ValidationError(f"A question has {low} to {high} {noun}."))
        if any(not text.strip() for text, _ in choices):
            errors.append(
                ValidationError(
                    "Every choice needs text."
                    if noun == "choices"
                    else f"Every one of the {noun} needs text."
                )
            )
        return errors + self._rule_errors(choices)

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        return []

    def _none_marked_correct(self, choices: AuthoredChoices) -> list[ValidationError]:
        """The rule of a kind none of whose choices is right."""
        if any(correct for _, correct in choices):
            message = f"A question of kind {self.kind.value} has no choice marked correct."
            return [ValidationError(message)]
        return []

    # Playing

    def answers_to(self, *, game_id: int, question_id: int) -> ReadAnswer:
        """How an answer to this question is read, its choices read once for a whole batch:
        one or more of them, more than one only if more than one is right (GameError if it
        is no answer to this question)."""
        choices = answer_sql.read_choices(question_id=question_id)
        many_right = sum(choices.values()) > 1

        def given(choice_ids: Sequence[int], text: str | None) -> GivenAnswer:
            refuse_text(text)
            chosen = set(choice_ids)
            if not chosen or not chosen <= choices.keys():
                raise GameError(
                    "invalid_choice", "Pick one or more of this question's choices.", 400
                )
            if len(chosen) > 1 and not many_right:
                raise GameError("invalid_choice", "This question takes one answer.", 400)
            return GivenAnswer(choice_ids=sorted(chosen))

        return given

    def judge(self, choices: Sequence[Choice]) -> Callable[[StoredAnswer], bool]:
        """Whether an answer to the question of these choices is right: exactly its right
        choices (a question without one has no right answer)."""
        correct_ids = frozenset(c.id for c in choices if c.is_correct)
        return lambda answer: bool(correct_ids) and frozenset(answer.choice_ids) == correct_ids

    # Showing

    def shown_choices(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> list[dict[str, Any]]:
        """The choices as an open question shows them, telling nothing of the answer."""
        return [{"id": c.id, "text": c.text} for c in choices]

    def multiple(self, choices: Sequence[Choice]) -> bool:
        """Whether a player picks more than one (more than one is right)."""
        return sum(c.is_correct for c in choices) > 1

    def outcome(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> dict[str, Any]:
        """A closed question's right answer and how the players answered: the right choices
        and how many picked each choice (`distribution`)."""
        distribution = {str(c.id): 0 for c in choices}
        rows = (
            Answer.choices.through.objects.filter(
                answer__question=question, answer__player__game=game
            )
            .values("choice_id")
            .annotate(n=Count("id"))
            .values_list("choice_id", "n")
        )
        for choice_id, n in rows:
            distribution[str(choice_id)] = n
        return {
            "correct_choice_ids": [c.id for c in choices if c.is_correct],
            "distribution": distribution,
        }

    @property
    def report_name(self) -> str:
        """The kind as the game's report names it beside a question."""
        return self.kind.label
