"""The SQL of a join, written by hand, as answer_sql.py is an answer's.

A thousand phones join within seconds, and building these queries with the ORM costs ten
times the database's work for them (a join's whole CPU is what the room waits on). Everything
else goes through the ORM.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from quiz.game.models import Game, Player

GAME = Game._meta.db_table
PLAYER = Player._meta.db_table
# A player still in the game (PlayerQuerySet.active).
ACTIVE = "NOT kicked AND left_at IS NULL"


def live_game_id(*, pin: str) -> int | None:
    """The game with this PIN that has not finished (a constraint keeps it to one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {GAME} WHERE pin = %s AND state <> %s", [pin, Game.State.FINISHED]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def joins_since(*, address: str | None, since: datetime) -> int:
    """Players joined from `address` (None: from no known address) since `since`, to any game."""
    same_address = "address IS NULL" if address is None else "address = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {PLAYER} WHERE {same_address} AND joined_at >= %s",
            [
                *([] if address is None else [address]),
                connection.ops.adapt_datetimefield_value(since),
            ],
        )
        (count,) = cursor.fetchone()
    return count


@dataclass(frozen=True)
class JoinCounts:
    """What a join is checked against."""

    total: int  # players still in
    above: int  # players still in with points: a newcomer's rank is one more
    waiting: int  # players still in who wait for the next question
    taken: int  # players of the nickname (or a look-alike: its nickname_key)
    barred: int  # kicked players from the joiner's address whose host barred it, in the room
    taken_kicked: int  # kicked players of the nickname, in the room


def join_counts(*, game: Game, nickname_key: str, address: str | None) -> JoinCounts:
    """The players counted for a join to `game`, in one statement: the counts of those still
    in from the index of the active players (player_active_by_rank), the rest from the
    nickname's and the address's indexes over its room (the games Play again chained to it:
    a kick holds in all of them). Each is a lookup or a scan of index entries, never of the
    room's rows: a join's cost does not grow with the room."""
    active = f"FROM {PLAYER} WHERE game_id = %s AND {ACTIVE}"
    room = f"game_id IN ({_room_games(game)})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) {active}), "
            f"(SELECT COUNT(*) {active} AND score > 0), "
            f"(SELECT COUNT(*) {active} AND waiting), "
            f"(SELECT COUNT(*) FROM {PLAYER} WHERE game_id = %s AND nickname_key = %s), "
            f"(SELECT COUNT(*) FROM {PLAYER} WHERE address = %s AND kicked AND address_banned "
            f"AND {room}), "
            f"(SELECT COUNT(*) FROM {PLAYER} WHERE nickname_key = %s AND kicked AND {room})",
            [game.id, game.id, game.id, game.id, nickname_key, address, nickname_key],
        )
        return JoinCounts(*cursor.fetchone())


def _room_games(game: Game) -> str:
    """SQL for the ids of the games of `game`'s room (its own id alone if it has none)."""
    if game.room_id is None:
        return str(int(game.id))
    room = int(game.room_id)
    return f"SELECT id FROM {GAME} WHERE id = {room} OR room_id = {room}"


def player_counts(*, game_id: int, score: int) -> tuple[int, int]:
    """Players still in, and how many of them have more than `score` points."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COUNT(CASE WHEN score > %s THEN 1 END) FROM {PLAYER} "
            f"WHERE game_id = %s AND {ACTIVE}",
            [score, game_id],
        )
        total, above = cursor.fetchone()
    return total, above
