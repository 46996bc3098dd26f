"""Put in order: 3–4 items, written in the right order; every phone shows them in the same
wrong order (order_shown), under ids that are their places in it, and the player puts them
right."""

import hashlib
import hmac
import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from quiz.game import answer_sql
from quiz.game.errors import GameError
from quiz.game.kinds.base import (
    AuthoredChoices,
    GivenAnswer,
    QuestionKind,
    ReadAnswer,
    StoredAnswer,
    refuse_text,
)
from quiz.game.models import Answer, Choice, Game, Kind, Question

MIN_ORDER_ITEMS = 3


def order_shown(*, game_id: int, question_id: int, items: list[int]) -> list[int]:
    """An order question's items (`items`: their ids in the right order) as every phone of
    the game shows them: the same for everyone, by a seed only the server knows (the site's
    secret key), so nobody can work the order out. Any order but the right one, each equally
    likely: a shown order that came up more often than others would hint at the answer."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"order:{game_id}:{question_id}".encode(), hashlib.sha256
    ).digest()
    # permutations() starts with `items` as given: the right order, left out (4 items: 23)
    wrong_orders = list(itertools.islice(itertools.permutations(items), 1, None))
    return list(random.Random(digest).choice(wrong_orders))


def _keys(*, game: Game, question: Question, choices: Sequence[Choice]) -> dict[int, int]:
    """The item ids to the ids its players see: their places in the shuffled list (1, 2, …),
    so that no id tells the right order (database ids follow the writing)."""
    shown = order_shown(game_id=game.id, question_id=question.id, items=[c.id for c in choices])
    return {choice_id: key for key, choice_id in enumerate(shown, start=1)}


class Order(QuestionKind):
    kind = Kind.ORDER
    min_choices = MIN_ORDER_ITEMS
    noun = "items to order"
    fixed_correctness = False  # the right answer is the items' order, not any one item
    rows_legend = "Items in the right order"
    rows_hint = "3 or 4, first to last; every phone shows them shuffled."
    row_name = "Item"

    def row_label(self, number: int) -> str:
        return f"{self.row_name} {number} (first)" if number == 1 else super().row_label(number)

    def _rule_errors(self, choices: AuthoredChoices) -> list[ValidationError]:
        return self._none_marked_correct(choices)

    def answers_to(self, *, game_id: int, question_id: int) -> ReadAnswer:
        """An answer's ids are those the phone was shown (places in order_shown), in the
        player's order; stored as the items' own ids."""
        items = list(answer_sql.read_choices(question_id=question_id))
        shown = order_shown(game_id=game_id, question_id=question_id, items=items)
        every_place = list(range(1, len(shown) + 1))

        def given(choice_ids: Sequence[int], text: str | None) -> GivenAnswer:
            refuse_text(text)
            if sorted(choice_ids) != every_place:
                raise GameError("invalid_order", "Put every item in order, each once.", 400)
            return GivenAnswer(order_ids=",".join(str(shown[key - 1]) for key in choice_ids))

        return given

    def judge(self, choices: Sequence[Choice]) -> Callable[[StoredAnswer], bool]:
        right_order = ",".join(str(c.id) for c in choices)
        return lambda answer: answer.order_ids == right_order

    def shown_choices(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> list[dict[str, Any]]:
        """Shuffled (order_shown), under ids that are their places in that list."""
        keys = _keys(game=game, question=question, choices=choices)
        texts = {c.id: c.text for c in choices}
        shown = [{"id": key, "text": texts[choice_id]} for choice_id, key in keys.items()]
        return sorted(shown, key=lambda item: item["id"])

    def multiple(self, choices: Sequence[Choice]) -> bool:
        return False

    def outcome(
        self, *, game: Game, question: Question, choices: Sequence[Choice]
    ) -> dict[str, Any]:
        """The right order (as the ids the phones were shown) and how many put it exactly
        right (`right`) or not (`wrong`)."""
        keys = _keys(game=game, question=question, choices=choices)
        distribution = Answer.objects.filter(question=question, player__game=game).aggregate(
            right=Count("id", filter=Q(correct=True)), wrong=Count("id", filter=Q(correct=False))
        )
        return {"correct_order": [keys[c.id] for c in choices], "distribution": distribution}
