"""The SQL of the hottest work of a big game, recording answers and scoring them, by hand.

Building a query with the ORM costs more than the database's work for these few statements,
and a thousand players answer within seconds: a batch of answers to one game costs a few
statements in all, whatever its size (the game once, its players at once, one insert), and
so does scoring a question's answers. Everything else goes through the ORM.
"""

from collections.abc import Iterable, Sequence
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
INSERT_ROWS_MAX = 500  # rows of one INSERT: SQLite allows 32,766 parameters a statement


@dataclass(frozen=True)
class OpenGame:
    """What an answer is checked against: the game's state and its current question."""

    state: str
    question_id: int | None
    question_kind: str | None
    opened_at: datetime | None
    deadline: datetime | None


@dataclass(frozen=True)
class PlayerState:
    kicked: bool
    left: bool
    waiting: bool


@dataclass(frozen=True)
class NewAnswer:
    """One row to insert: an answer that passed every check but the database's own."""

    player_id: int
    question_id: int
    answered_at: datetime
    response_ms: int
    choice_ids: list[int]
    text: str
    order_ids: str


@dataclass(slots=True)
class ScoredAnswer:
    """An answer of a closing question with its player's standing: read before scoring,
    then set by it (correct, points, streak_bonus; the player's streak, correct_count and
    score) and written back (write_scores)."""

    id: int
    player_id: int
    response_ms: int
    text: str
    order_ids: str
    choice_ids: frozenset[int]
    streak: int
    correct_count: int
    score: int
    correct: bool = False
    points: int = 0
    streak_bonus: int = 0


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


def read_game(*, game_id: int) -> OpenGame | None:
    """The game and its current question, in one statement; None for no such game. On
    PostgreSQL the answers first share the game's answer lock (exclude_answers)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [game_id])
        cursor.execute(
            f"SELECT g.state, g.current_question_id, q.kind, g.opened_at, g.deadline FROM {GAME} g "
            f"LEFT JOIN {QUESTION} q ON q.id = g.current_question_id WHERE g.id = %s",
            [game_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    state, question_id, kind, opened_at, deadline = row
    return OpenGame(state, question_id, kind, _moment(opened_at), _moment(deadline))


def read_players(*, game_id: int, player_ids: Iterable[int]) -> dict[int, PlayerState]:
    """Those of `player_ids` who are players of the game, by id."""
    wanted = sorted(set(player_ids))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kicked, left_at, waiting FROM {PLAYER} WHERE game_id = %s "
            f"AND id IN ({', '.join(['%s'] * len(wanted))})",
            [game_id, *wanted],
        )
        return {
            player_id: PlayerState(bool(kicked), left_at is not None, bool(waiting))
            for player_id, kicked, left_at, waiting in cursor.fetchall()
        }


def read_choices(*, question_id: int) -> dict[int, bool]:
    """The question's choices: id to correctness, in the author's order (an order question's
    right order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, is_correct FROM {CHOICE} WHERE question_id = %s ORDER BY position, id",
            [question_id],
        )
        return {choice_id: bool(correct) for choice_id, correct in cursor.fetchall()}


def insert_answers(answers: Sequence[NewAnswer]) -> dict[int, int]:
    """Insert the answers and their choices, each unless its player has one to its question
    already (the database decides, one_answer_per_question); player id to the new answer's
    id, for those inserted. At most one answer per player in `answers`."""
    inserted: dict[int, int] = {}
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(answers), INSERT_ROWS_MAX):
            rows = answers[start : start + INSERT_ROWS_MAX]
            cursor.execute(
                f"INSERT INTO {ANSWER} (player_id, question_id, answered_at, response_ms, "
                f"correct, points, streak_bonus, text, order_ids) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
                + " ON CONFLICT (player_id, question_id) DO NOTHING RETURNING player_id, id",
                [
                    value
                    for a in rows
                    for value in (
                        a.player_id,
                        a.question_id,
                        adapt(a.answered_at),
                        a.response_ms,
                        False,
                        0,
                        0,
                        a.text,
                        a.order_ids,
                    )
                ],
            )
            inserted.update(cursor.fetchall())
        choices = [
            (inserted[a.player_id], choice_id)
            for a in answers
            if a.player_id in inserted
            for choice_id in a.choice_ids
        ]
        if choices:
            cursor.executemany(
                f"INSERT INTO {ANSWER_CHOICES} (answer_id, choice_id) VALUES (%s, %s)", choices
            )
    return inserted


def read_answers_to_score(*, game_id: int, question_id: int) -> list[ScoredAnswer]:
    """Every answer of the game's players to the question, with the choices it picked."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ac.answer_id, ac.choice_id FROM {ANSWER_CHOICES} ac "
            f"JOIN {ANSWER} a ON a.id = ac.answer_id JOIN {PLAYER} p ON p.id = a.player_id "
            f"WHERE a.question_id = %s AND p.game_id = %s",
            [question_id, game_id],
        )
        picked: dict[int, set[int]] = {}
        for answer_id, choice_id in cursor.fetchall():
            picked.setdefault(answer_id, set()).add(choice_id)
        cursor.execute(
            f"SELECT a.id, a.player_id, a.response_ms, a.text, a.order_ids, p.streak, "
            f"p.correct_count, p.score FROM {ANSWER} a JOIN {PLAYER} p ON p.id = a.player_id "
            f"WHERE a.question_id = %s AND p.game_id = %s ORDER BY a.id",
            [question_id, game_id],
        )
        return [
            ScoredAnswer(answer_id, *row[:4], frozenset(picked.get(answer_id, ())), *row[4:])
            for answer_id, *row in cursor.fetchall()
        ]


def write_scores(answers: Sequence[ScoredAnswer]) -> None:
    """Each answer's score, and its player's standing after it."""
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {ANSWER} SET correct = %s, points = %s, streak_bonus = %s WHERE id = %s",
            [(a.correct, a.points, a.streak_bonus, a.id) for a in answers],
        )
        cursor.executemany(
            f"UPDATE {PLAYER} SET score = %s, correct_count = %s, streak = %s WHERE id = %s",
            [(a.score, a.correct_count, a.streak, a.player_id) for a in answers],
        )
