"""The frame contract: every frame the game publishes, its topic and its envelope.

docs/game.md describes these frames for page authors; this module is the one place that
builds them, and tests check what it builds against that description.

Two kinds of frame share the envelope `{"type", "version", "data"}`:
- *versioned* frames carry a change of the game, each at a version of its own (the caller
  bumped it), on the status topic that every screen follows;
- *live* frames (`LIVE_TYPES`) tell the host how the room fills up: a join, the number of
  answers so far, or the room as the host set it (its lock and options). They carry the
  game's version at the time without bumping it, go to the players topic that only the host
  follows, and are safe to apply more than once.
"""

from dataclasses import dataclass
from typing import Any

STATUS = "status"
PLAYERS = "players"
LIVE_TYPES = frozenset({"player_joined", "answer_count", "room"})


def topic(*, game_id: int, name: str) -> str:
    """A game's topic, as the /topic/ convention of RabbitMQ and ActiveMQ spells it."""
    return f"/topic/games.{game_id}.{name}"


def topics(*, game_id: int, role: str) -> dict[str, str]:
    """What a screen subscribes to: players follow the status topic, the host both."""
    if role == "host":
        return {
            STATUS: topic(game_id=game_id, name=STATUS),
            PLAYERS: topic(game_id=game_id, name=PLAYERS),
        }
    return {STATUS: topic(game_id=game_id, name=STATUS)}


def presence(*, game_id: int) -> str:
    """Who is connected to a game: the broker's presence of its status topic, where each
    player's page announces itself (a destination that `read_pattern` does not cover)."""
    return f"/presence/games.{game_id}.{STATUS}"


def answer_topic(*, game_id: int, player_id: int) -> str:
    """Where a player's page sends its answers (quiz.live.answers): a topic of its own, the
    one destination its token may write to. Outside the game's `games.<id>.` topics, so that
    no token that reads the game can read anyone's answers."""
    return f"/topic/answers.{game_id}.{player_id}"


# Every answer topic, as a subscription pattern: what the answers queue is bound to.
ANSWER_TOPICS = "/topic/answers.*.*"


def reply_topic(*, game_id: int, player_id: int) -> str:
    """Where the site tells one player's page that an answer it sent over the broker was
    refused (`answer_refused`): a topic only that player's token reads."""
    return f"/topic/replies.{game_id}.{player_id}"


def read_pattern(*, game_id: int) -> str:
    """The one pattern a browser token may read: both of this game's topics."""
    return topic(game_id=game_id, name="*")


@dataclass(frozen=True)
class Frame:
    """One frame for one game, ready to publish."""

    game_id: int
    type: str
    version: int
    data: dict[str, Any]
    player_id: int | None = None  # of a reply, which goes to that player's page alone

    @property
    def destination(self) -> str:
        if self.player_id is not None:
            return reply_topic(game_id=self.game_id, player_id=self.player_id)
        return topic(game_id=self.game_id, name=PLAYERS if self.type in LIVE_TYPES else STATUS)

    def body(self) -> dict[str, Any]:
        """The JSON envelope; `type` first, so a reader can tell a frame by its prefix."""
        return {"type": self.type, "version": self.version, "data": self.data}


def lobby(*, game_id: int, version: int, game: dict[str, Any]) -> Frame:
    return Frame(game_id, "lobby", version, {"game": game})


def question_open(
    *,
    game_id: int,
    version: int,
    game: dict[str, Any],
    question: dict[str, Any] | None,
    server_time: int,
) -> Frame:
    return Frame(
        game_id,
        "question_open",
        version,
        {"game": game, "question": question, "server_time": server_time},
    )


def question_closed(
    *, game_id: int, version: int, game: dict[str, Any], results: dict[str, Any] | None
) -> Frame:
    return Frame(game_id, "question_closed", version, {"game": game, "results": results})


def leaderboard(*, game_id: int, version: int, players: list[dict[str, Any]]) -> Frame:
    """The top of the ranking (`players`, TOP_PLAYERS of them), as every screen shows it."""
    return Frame(game_id, "leaderboard", version, {"players": players})


def finished(
    *,
    game_id: int,
    version: int,
    game: dict[str, Any],
    podium: list[dict[str, Any]] | None,
    players: list[dict[str, Any]],
) -> Frame:
    return Frame(game_id, "finished", version, {"game": game, "podium": podium, "players": players})


def player_departed(
    *, game_id: int, version: int, why: str, player: dict[str, Any], count: int
) -> Frame:
    """`why` is "left" or "kicked"; the player's own screen learns it from this frame."""
    return Frame(game_id, f"player_{why}", version, {"player": player, "count": count})


def players_kicked(
    *, game_id: int, version: int, players: list[dict[str, Any]], count: int
) -> Frame:
    """Many players removed at once; each one's own screen learns it from this frame."""
    return Frame(game_id, "players_kicked", version, {"players": players, "count": count})


def next_game(*, game_id: int, version: int, next_game: int) -> Frame:
    """The host opened the game `next_game` after this finished one: its players follow."""
    return Frame(game_id, "next_game", version, {"game_id": next_game})


def player_joined(
    *, game_id: int, version: int, player: dict[str, Any], count: int, answering: int
) -> Frame:
    """`count` players are in; `answering` of them play the open question (a latecomer who
    waits for the next one does not)."""
    return Frame(
        game_id,
        "player_joined",
        version,
        {"player": player, "count": count, "answering": answering},
    )


def room(*, game_id: int, version: int, room: dict[str, Any]) -> Frame:
    """The room as the host set it (lock, latecomers, nicknames), for the host's screens."""
    return Frame(game_id, "room", version, {"room": room})


def answer_count(*, game_id: int, version: int, question_id: int, count: int, total: int) -> Frame:
    return Frame(
        game_id,
        "answer_count",
        version,
        {"question_id": question_id, "count": count, "total": total},
    )


def my_result(
    *, game_id: int, player_id: int, version: int, question_id: int, player: dict[str, Any]
) -> Frame:
    """A reply: what the question `question_id` brought one player, and where it stands now
    (`player`: its line of the results, and `behind`, the next one up). A status frame
    carries only the top of the ranking: a hall's every line in every phone's frame would
    be megabytes a phone, and hundreds a close over the hall's Wi-Fi."""
    return Frame(
        game_id, "my_result", version, {"question_id": question_id, "player": player}, player_id
    )


def answer_refused(
    *, game_id: int, player_id: int, version: int, question_id: int | None, error: str, detail: str
) -> Frame:
    """A reply: the answer `player_id` sent over the broker was not recorded, and why (the
    error code and reason a POSTed answer would have got)."""
    return Frame(
        game_id,
        "answer_refused",
        version,
        {"question_id": question_id, "error": error, "detail": detail},
        player_id,
    )
