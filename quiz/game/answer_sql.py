"""The SQL of the hottest request of a big game, recording an answer, written by hand.

Building a query with the ORM costs more than the database's work for these few statements,
and a thousand players answer within seconds. Everything else goes through the ORM.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from quiz.game.models import Answer, Choice, Game, Player, Question

GAME = Game._meta.db_table
PLAYER = Player._meta.db_table
CHOICE = Choice._meta.db_table
QUESTION = Question._meta.db_table
ANSWER = Answer._meta.db_table
ANSWER_CHOICES = Answer.choices.through._meta.db_table


@dataclass(frozen=True)
class GameAndPlayer:
    """What an answer is checked against: the game's state and the player's."""

    state: str
    question_id: int | None
    question_kind: str | None
    opened_at: datetime | None
    deadline: datetime | None
    player_found: bool
    kicked: bool
    left: bool
    waiting: bool


def _moment(value: datetime | str | None) -> datetime | None:
    """A timestamp as the driver gives it (SQLite: text in UTC) as an aware datetime."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    assert moment is not None
    return moment.replace(tzinfo=UTC)


def exclude_answers(*, game_id: int) -> None:
    """Wait for the answers to `game_id` under way, and keep new ones waiting until this
    transaction ends: a state change (the close that scores a question) sees every answer.

    On PostgreSQL a transaction-scoped advisory lock, which answers take shared: unlike FOR
    SHARE on the game row, a shared advisory lock writes nothing, so hundreds of answers at
    once cost the database no more than one. SQLite's write transactions run one at a time
    already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [game_id])


def read_game_and_player(*, game_id: int, player_id: int | None) -> GameAndPlayer | None:
    """The game and the player, in one statement; None for no such game. On PostgreSQL the
    answer first shares the game's answer lock (exclude_answers)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [game_id])
        cursor.execute(
            f"SELECT g.state, g.current_question_id, q.kind, g.opened_at, g.deadline, p.id, "
            f"p.kicked, p.left_at, p.waiting FROM {GAME} g "
            f"LEFT JOIN {QUESTION} q ON q.id = g.current_question_id "
            f"LEFT JOIN {PLAYER} p ON p.id = %s AND p.game_id = g.id WHERE g.id = %s",
            [player_id, game_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    state, question_id, kind, opened_at, deadline, found, kicked, left_at, waiting = row
    return GameAndPlayer(
        state,
        question_id,
        kind,
        _moment(opened_at),
        _moment(deadline),
        found is not None,
        bool(kicked),
        left_at is not None,
        bool(waiting),
    )


def read_choices(*, question_id: int) -> dict[int, bool]:
    """The question's choices: id to correctness, in the author's order (an order question's
    right order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, is_correct FROM {CHOICE} WHERE question_id = %s ORDER BY position, id",
            [question_id],
        )
        return {choice_id: bool(correct) for choice_id, correct in cursor.fetchall()}


def insert_answer(
    *,
    player_id: int | None,
    question_id: int,
    answered_at: datetime,
    response_ms: int,
    choice_ids: list[int],
    text: str = "",
    order_ids: str = "",
) -> int:
    """Insert the answer and its choices (none for a typed answer or an order); its id.
    IntegrityError if the player has one."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ANSWER} (player_id, question_id, answered_at, response_ms, correct, "
            f"points, streak_bonus, text, order_ids) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                player_id,
                question_id,
                connection.ops.adapt_datetimefield_value(answered_at),
                response_ms,
                False,
                0,
                0,
                text,
                order_ids,
            ],
        )
        (answer_id,) = cursor.fetchone()
        if choice_ids:
            cursor.executemany(
                f"INSERT INTO {ANSWER_CHOICES} (answer_id, choice_id) VALUES (%s, %s)",
                [(answer_id, choice_id) for choice_id in choice_ids],
            )
    return answer_id
