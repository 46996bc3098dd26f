"""All game rules. Every change of a game's state locks the game row, bumps its version and
publishes its frames only after the transaction commits.

The game row lock serialises every change to a game across threads, worker processes and
machines; the unique constraints (one answer per player and question, one nickname per game)
back it up in the database itself. Answers are the exception that makes big games fast: they
change no state of the game, so they only share the game's answer lock (answer_sql), never
wait for each other, and are counted and scored later, when something shows them.
"""

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from quiz import live
from quiz.game import answer_sql, arrivals, join_sql, kinds, nicknames, selectors
from quiz.game.errors import GameError
from quiz.game.kinds.base import ReadAnswer, StoredAnswer
from quiz.game.models import (
    NICKNAME_MAX,
    Game,
    Player,
    Question,
    Quiz,
    nickname_key,
    visible_text,
)
from quiz.live import frames, tokens
from quiz.live.frames import Frame

logger = logging.getLogger(__name__)


def score_answer(*, points: int, time_limit: int, response_ms: int, correct: bool) -> int:
    """Kahoot's rule: full points for an instant answer, half at the deadline."""
    if not correct:
        return 0
    ratio = min(max(response_ms / (time_limit * 1000), 0.0), 1.0)
    return round(points * (1 - ratio / 2))


STREAK_STEP = 100
STREAK_BONUS_MAX = 500


def streak_bonus(*, streak: int, points: int) -> int:
    """Kahoot's answer streak bonus: 100 more points for each correct answer in a row after the
    first, at most 500; none on a question worth no points (the streak still grows)."""
    if points == 0 or streak < 2:
        return 0
    return min(STREAK_STEP * (streak - 1), STREAK_BONUS_MAX)


def _lock(game_id: int) -> Game:
    """The game row, locked until the transaction ends (its quiz row stays unlocked), with
    no answer to it under way (answer_sql.exclude_answers)."""
    try:
        game = Game.objects.select_for_update(of=("self",)).select_related("quiz").get(pk=game_id)
    except Game.DoesNotExist:
        raise GameError("unknown_game", "There is no such game.", 404) from None
    answer_sql.exclude_answers(game_id=game_id)
    return game


def _require_host(game: Game, user: AbstractBaseUser | None) -> None:
    if user is None or not user.is_authenticated or user.pk != game.host_id:
        raise GameError("not_host", "Only the host of this game can do that.", 403)


def _bump(game: Game) -> int:
    """The next version of the game, saved; every versioned frame has a distinct one."""
    game.version += 1
    game.save()
    return game.version


def _publish(frame: Frame) -> None:
    """Send a frame once the transaction commits.

    Its data is built by the caller under the game's lock, so it is the state at the version it
    carries: built after the commit, another worker's next change could already show in it.
    """
    transaction.on_commit(lambda: live.publish_frame(frame))


def _publish_change(game: Game, build: Callable[..., Frame], **data: Any) -> None:
    """A change of the game's state: `build`'s frame at the game's next version, with the
    game's line and `data`, the rest that frame carries."""
    _publish(
        build(game_id=game.id, version=_bump(game), game=selectors.game_data(game=game), **data)
    )


def _publish_leaderboard(game: Game, top: list[dict[str, Any]]) -> None:
    _publish(frames.leaderboard(game_id=game.id, version=_bump(game), players=top))


def _publish_each_result(game: Game, results: dict[str, Any]) -> None:
    """Each player's own line of `results` (every player's), to its page alone, at the
    game's version after the close's frames: a page may hear it before them, on RabbitMQ
    whose queues do not keep order between topics, and applies it either way."""
    lines = results["players"]
    for line, behind in zip(lines, selectors.next_one_up(lines), strict=True):
        _publish(
            frames.my_result(
                game_id=game.id,
                player_id=line["id"],
                version=game.version,
                question_id=results["question_id"],
                player={**line, "behind": behind},
            )
        )


def _new_pin() -> str:
    for _ in range(100):
        pin = f"{secrets.randbelow(1_000_000):06d}"
        if not Game.objects.exclude(state=Game.State.FINISHED).filter(pin=pin).exists():
            return pin
    raise GameError("no_pin", "No free game PIN; try again.", 503)


def finish_abandoned_games(*, now: datetime) -> int:
    """Finish every lobby nobody started, and every game nobody moved on (its last question's
    deadline), for QUIZ_ABANDONED_AFTER_HOURS: their PINs are free again and they no longer
    count against their host's QUIZ_LIVE_GAMES_PER_HOST. How many were finished.

    No frames: nobody has been watching them for hours, and a page still open finds the game
    finished at its next snapshot."""
    cutoff = now - timedelta(hours=settings.QUIZ_ABANDONED_AFTER_HOURS)
    running = (Game.State.QUESTION_OPEN, Game.State.QUESTION_CLOSED)
    return Game.objects.filter(
        Q(state=Game.State.LOBBY, created_at__lt=cutoff) | Q(state__in=running, deadline__lt=cutoff)
    ).update(state=Game.State.FINISHED, finished_at=now, version=F("version") + 1)


def create_game(
    *, quiz: Quiz, host: AbstractBaseUser, now: datetime | None = None, previous: Game | None = None
) -> Game:
    """Open a lobby for `quiz` with a PIN unique among live games, unless its host already has
    QUIZ_LIVE_GAMES_PER_HOST games not finished (an account opening games by the thousand
    would take every PIN). Abandoned games are finished first (finish_abandoned_games).

    After `previous` (play again), the lobby keeps its room: its options, its lock, and its
    kicks (the first game of the run is the room of every later one)."""
    if host.pk != quiz.author_id:
        raise GameError("not_author", "Only the author of this quiz can host it.", 403)
    if not quiz.questions.exists():
        raise GameError("empty_quiz", "This quiz has no questions.", 400)
    finish_abandoned_games(now=now or timezone.now())
    limit = settings.QUIZ_LIVE_GAMES_PER_HOST
    if Game.objects.filter(host=host).exclude(state=Game.State.FINISHED).count() >= limit:
        raise GameError(
            "too_many_games",
            f"You have {limit} games that have not finished: end one of them first "
            "(on its host screen).",
            409,
        )
    room: dict[str, Any] = {}
    if previous is not None:
        room = {
            "previous_game": previous,
            "room_id": previous.room_id or previous.id,
            **{option: getattr(previous, option) for option in ("locked", *ROOM_OPTIONS)},
        }
    for _ in range(5):
        try:
            with transaction.atomic():
                game = Game.objects.create(quiz=quiz, host=host, pin=_new_pin(), **room)
                _publish(
                    frames.lobby(
                        game_id=game.id, version=game.version, game=selectors.game_data(game=game)
                    )
                )
                return game
        except IntegrityError:
            continue
    raise GameError("no_pin", "No free game PIN; try again.", 503)


@transaction.atomic
def play_again(*, game_id: int, user: AbstractBaseUser | None, now: datetime | None = None) -> Game:
    """After a finished game, a new game of the same quiz in the same room (create_game's
    `previous`), and a `next_game` frame on the finished game's topic: every phone still in
    follows into the new lobby (follow_to_next_game). Asked again, the same new game."""
    game = _lock(game_id)
    _require_host(game, user)
    if game.state != Game.State.FINISHED:
        raise GameError("wrong_state", "The game has not finished yet.", 409)
    following = Game.objects.filter(previous_game=game).first()
    if following is not None:
        return following
    assert user is not None
    following = create_game(quiz=game.quiz, host=user, now=now, previous=game)
    _publish(frames.next_game(game_id=game.id, version=_bump(game), next_game=following.id))
    return following


@transaction.atomic
def follow_to_next_game(
    *, game_id: int, player_id: int | None, address: str | None = None
) -> Player:
    """The player follows their host from a finished game into its next one (play_again),
    under the same nickname. They were in the room, so its lock does not keep them out; every
    other rule of a join holds. A kicked player, or one who left, does not follow."""
    player = get_player(game_id=game_id, player_id=player_id)
    following = Game.objects.filter(previous_game_id=game_id).first()
    if following is None:
        raise GameError("no_next_game", "The host has not opened a next game.", 404)
    game = _lock(following.id)
    return _admit(
        game,
        nickname=_policed_nickname(game, player.nickname),
        user=player.user,
        address=address,
    )


def clean_nickname(nickname: str) -> str:
    """Trimmed, 1 to NICKNAME_MAX printable characters, some of them visible, and none that
    would take over the screens (nicknames.screen_filling): a name of fillers and blanks would
    show as no name at all."""
    nickname = (nickname or "").strip()
    if not nickname or len(nickname) > NICKNAME_MAX:
        raise GameError("invalid_nickname", f"A nickname has 1 to {NICKNAME_MAX} characters.", 400)
    if any(not ch.isprintable() for ch in nickname):
        raise GameError("invalid_nickname", "A nickname cannot contain control characters.", 400)
    if not visible_text(nickname):
        raise GameError("invalid_nickname", "A nickname needs a letter others can see.", 400)
    reason = nicknames.screen_filling(nickname)
    if reason is not None:
        raise GameError("invalid_nickname", reason, 400)
    return nickname


def live_game_id(*, pin: str) -> int:
    """The live game with this PIN. A finished game's PIN gets the same answer as an unknown
    one, so guessing tells nothing about which PINs were ever used."""
    game_id = join_sql.live_game_id(pin=(pin or "").strip())
    if game_id is None:
        raise GameError("wrong_pin", "No game with that PIN.", 404)
    return game_id


KICKED = "The host removed you from this game."
WAITING = "You joined during this question: you play from the next one."
LOCKED = "This game is locked: the host lets no more players in."


def _policed_nickname(game: Game, nickname: str) -> str:
    """The nickname cleaned, unless it holds a word of the site's list or the host's."""
    nickname = clean_nickname(nickname)
    if nicknames.blocked_word(nickname, extra_words=game.blocked_words.splitlines()):
        raise GameError("nickname_refused", "That nickname is not allowed here: pick another.", 400)
    return nickname


@transaction.atomic
def join_game(
    *, game_id: int, nickname: str, user: AbstractBaseUser | None = None, address: str | None = None
) -> Player:
    """Add a player to a live game that is not locked, under a nickname nobody else in it
    uses and the nickname policy allows (or, when the host hands out names, under a generated
    one: what was typed is not used), unless the game has QUIZ_MAX_PLAYERS_PER_GAME players
    already, or the host kicked a player of that nickname (or a look-alike), or kicked one who
    joined from the same `address` and barred it, in this game or another of its room."""
    game = _lock(game_id)
    if game.locked and game.state != Game.State.FINISHED:
        raise GameError("game_locked", LOCKED, 403)
    if game.generated_nicknames:
        nickname = nicknames.generated_nickname(
            taken=lambda name: game.players.filter(nickname_key=nickname_key(name)).exists()
        )
    else:
        nickname = _policed_nickname(game, nickname)
    return _admit(game, nickname=nickname, user=user, address=address)


def _admit(
    game: Game, *, nickname: str, user: AbstractBaseUser | None, address: str | None
) -> Player:
    """The rules every way into a game shares, under the game's lock; then the player.

    A join changes no version: the host hears of it in a live frame, and a player who joins
    mid-game changes nothing the other screens show. One who joins while a question is open
    in a game whose latecomers wait plays from the next question on (`waiting`)."""
    key = nickname_key(nickname)
    if game.state == Game.State.FINISHED:
        raise GameError("game_finished", "This game has already finished.", 409)
    counts = join_sql.join_counts(game=game, nickname_key=key, address=address)
    if counts.total >= settings.QUIZ_MAX_PLAYERS_PER_GAME:
        limit = settings.QUIZ_MAX_PLAYERS_PER_GAME
        raise GameError("game_full", f"This game is full: it has {limit} players.", 409)
    if address and settings.QUIZ_BAN_BY_ADDRESS and counts.barred:
        raise GameError("kicked", KICKED, 403)
    if counts.taken_kicked:
        raise GameError("kicked", KICKED, 403)
    if counts.taken:
        raise GameError("nickname_taken", "That nickname is taken in this game.", 409)
    player = Player.objects.create(
        game=game,
        nickname=nickname,
        nickname_key=key,
        address=address,
        user=user if user is not None and user.is_authenticated else None,
        waiting=game.state == Game.State.QUESTION_OPEN and game.latecomers_wait,
    )
    _publish(
        frames.player_joined(
            game_id=game.id,
            version=game.version,
            player=selectors.player_entry(game=game, player=player, above=counts.above),
            count=counts.total + 1,
            answering=counts.total + 1 - counts.waiting - player.waiting,
        )
    )
    return player


# What the host sets of the room besides its lock (set_room_options), as create_game copies it.
ROOM_OPTIONS = ("latecomers_wait", "generated_nicknames", "blocked_words")
# Characters of a game's own blocked words, at most.
BLOCKED_WORDS_MAX = 2000


def _publish_room(game: Game) -> None:
    """Tell the host's screens (every tab) the room as it is now."""
    _publish(
        frames.room(game_id=game.id, version=game.version, room=selectors.room_data(game=game))
    )


def _change_room(game_id: int, user: AbstractBaseUser | None) -> Game:
    game = _lock(game_id)
    _require_host(game, user)
    if game.state == Game.State.FINISHED:
        raise GameError("wrong_state", "The game has finished.", 409)
    return game


def _set_lock(game_id: int, user: AbstractBaseUser | None, locked: bool) -> Game:
    game = _change_room(game_id, user)
    if game.locked == locked:
        state = "already locked" if locked else "not locked"
        raise GameError("wrong_state", f"The game is {state}.", 409)
    game.locked = locked
    game.save(update_fields=["locked"])
    _publish_room(game)
    return game


@transaction.atomic
def lock_game(*, game_id: int, user: AbstractBaseUser | None) -> Game:
    """No more joins until the host unlocks the game; those in play on."""
    return _set_lock(game_id, user, True)


@transaction.atomic
def unlock_game(*, game_id: int, user: AbstractBaseUser | None) -> Game:
    return _set_lock(game_id, user, False)


@transaction.atomic
def set_room_options(
    *,
    game_id: int,
    user: AbstractBaseUser | None,
    latecomers_wait: bool | None = None,
    generated_nicknames: bool | None = None,
    blocked_words: str | None = None,
) -> Game:
    """The host's room options, those given (None: as they were), for the joins to come:
    whether latecomers wait for the next question, whether players get generated nicknames,
    and the game's own words refused in nicknames (one a line, on top of the site's list)."""
    game = _change_room(game_id, user)
    if blocked_words is not None:
        if len(blocked_words) > BLOCKED_WORDS_MAX:
            raise GameError(
                "invalid_input", f"Blocked words take at most {BLOCKED_WORDS_MAX} characters.", 400
            )
        blocked_words = "\n".join(nicknames.read_words(blocked_words.splitlines()))
    given = {
        "latecomers_wait": latecomers_wait,
        "generated_nicknames": generated_nicknames,
        "blocked_words": blocked_words,
    }
    for option, value in given.items():
        if value is not None:
            setattr(game, option, value)
    game.save(update_fields=list(ROOM_OPTIONS))
    _publish_room(game)
    return game


def _refuse_unless_playing(*, joined: bool, kicked: bool, left: bool) -> None:
    """GameError for a player who may not act in the game: never joined it, was kicked, or
    left it."""
    if not joined:
        raise GameError("not_player", "You have not joined this game.", 403)
    if kicked:
        raise GameError("kicked", KICKED, 403)
    if left:
        raise GameError("left", "You left this game.", 403)


def get_player(*, game_id: int, player_id: int | None) -> Player:
    """The session's player, refused when unknown, kicked or gone."""
    player = Player.objects.filter(game_id=game_id, pk=player_id).first() if player_id else None
    _refuse_unless_playing(
        joined=player is not None,
        kicked=player is not None and player.kicked,
        left=player is not None and player.left_at is not None,
    )
    assert player is not None  # refused above
    return player


def _questions(game: Game) -> list[Question]:
    return list(game.quiz.questions.all())


def _open_question(game: Game, question: Question, index: int, now: datetime) -> None:
    """Open `question`: every player still in plays it, latecomers who waited too."""
    game.players.filter(waiting=True).update(waiting=False)
    game.question_index = index
    game.current_question = question
    game.state = Game.State.QUESTION_OPEN
    # the lead-in: the question alone first; its answers and time start at opened_at
    game.opened_at = now + timedelta(milliseconds=settings.QUIZ_LEAD_IN_MS)
    game.deadline = game.opened_at + timedelta(seconds=question.time_limit)
    _publish_change(
        game,
        frames.question_open,
        question=selectors.question_data(game=game),
        server_time=selectors.ms(timezone.now()),
    )


@transaction.atomic
def start_game(*, game_id: int, user: AbstractBaseUser | None, now: datetime | None = None) -> Game:
    """Leave the lobby and open the first question."""
    game = _lock(game_id)
    _require_host(game, user)
    if game.state != Game.State.LOBBY:
        raise GameError("wrong_state", "The game has already started.", 409)
    _open_question(game, _questions(game)[0], 0, now or timezone.now())
    return game


@transaction.atomic
def open_next_question(
    *, game_id: int, user: AbstractBaseUser | None, now: datetime | None = None
) -> Game:
    """After a closed question: open the next one, or finish after the last."""
    game = _lock(game_id)
    _require_host(game, user)
    if game.state != Game.State.QUESTION_CLOSED:
        raise GameError("wrong_state", "Close the current question first.", 409)
    questions = _questions(game)
    index = game.question_index + 1
    if index >= len(questions):
        _finish(game, now or timezone.now())
    else:
        _open_question(game, questions[index], index, now or timezone.now())
    return game


def _judge(question: Question) -> Callable[[StoredAnswer], bool]:
    """Whether an answer to `question` is right, by its kind (a poll's never is)."""
    return kinds.of(question.kind).judge(list(question.choices.all()))


def _close(game: Game) -> None:
    """Score every answer of the open question, then publish results and leaderboard. A poll
    scores nothing: no points, and streaks stay as they were."""
    question = game.current_question
    assert question is not None
    if kinds.of(question.kind).scored:
        _score(game, question)
    game.state = Game.State.QUESTION_CLOSED
    ranking = selectors.ranked_players(game=game)
    results = selectors.results_data(game=game, ranking=ranking)
    assert results is not None
    top = {**results, "players": results["players"][: selectors.TOP_PLAYERS]}
    _publish_change(game, frames.question_closed, results=top)
    _publish_leaderboard(game, ranking[: selectors.TOP_PLAYERS])
    _publish_each_result(game, results)


def _score(game: Game, question: Question) -> None:
    """Points, streaks and correct counts for every answer to `question` (answer_sql: a
    question of a big game has thousands)."""
    is_right = _judge(question)
    answers = answer_sql.read_answers_to_score(game_id=game.id, question_id=question.id)
    for answer in answers:
        answer.correct = is_right(answer)
        answer.points = score_answer(
            points=question.points,
            time_limit=question.time_limit,
            response_ms=answer.response_ms,
            correct=answer.correct,
        )
        answer.streak = answer.streak + 1 if answer.correct else 0
        answer.streak_bonus = streak_bonus(streak=answer.streak, points=question.points)
        answer.correct_count += answer.correct
        answer.score += answer.points + answer.streak_bonus
    answer_sql.write_scores(answers)
    # no answer breaks a streak too
    game.players.filter(streak__gt=0).exclude(answers__question=question).update(streak=0)


def _finish(game: Game, now: datetime) -> None:
    game.state = Game.State.FINISHED
    game.finished_at = now
    _publish_change(
        game,
        frames.finished,
        podium=selectors.podium(game=game),
        players=selectors.ranked_players(game=game, limit=selectors.TOP_PLAYERS),
    )


@transaction.atomic
def close_question(*, game_id: int, user: AbstractBaseUser | None) -> Game:
    """The host closes the open question early."""
    game = _lock(game_id)
    _require_host(game, user)
    if game.state != Game.State.QUESTION_OPEN:
        raise GameError("wrong_state", "No question is open.", 409)
    _close(game)
    return game


def grace() -> timedelta:
    """How long after its deadline an answer that left the player in time still counts."""
    return timedelta(milliseconds=settings.QUIZ_ANSWER_GRACE_MS)


def _due_for_close(game: Game | None, question_id: int | None, now: datetime) -> bool:
    """The open question (`question_id`'s, if given) is past its deadline and the grace for
    answers on their way, or fully answered."""
    if game is None or game.state != Game.State.QUESTION_OPEN:
        return False
    if question_id is not None and game.current_question_id != question_id:
        return False
    if now >= game.deadline + grace():
        return True
    return selectors.everyone_answered(selectors.answer_counts(game=game))


def close_question_if_due(
    *, game_id: int, question_id: int | None = None, now: datetime | None = None
) -> bool:
    """Close the open question if its time (deadline and grace) is up or everyone answered;
    idempotent.

    It looks without the lock first and takes it only to close; under the lock it looks again,
    and of several workers or tickers that got that far exactly one closes.
    """
    now = now or timezone.now()
    if not _due_for_close(Game.objects.filter(pk=game_id).first(), question_id, now):
        return False
    with transaction.atomic():
        try:
            game = _lock(game_id)
        except GameError:
            return False
        if not _due_for_close(game, question_id, now):
            return False
        _close(game)
        return True


def close_question_if_overdue(*, game: Game, now: datetime | None = None) -> bool:
    """Close `game`'s open question if its time is up; a page asking for the game sees it
    closed then, even before a ticker got to it. Costs nothing more while it is not due."""
    now = now or timezone.now()
    if game.state != Game.State.QUESTION_OPEN or now < game.deadline + grace():
        return False
    return close_question_if_due(game_id=game.id, question_id=game.current_question_id, now=now)


def close_overdue_questions(*, now: datetime | None = None) -> list[int]:
    """Close every open question whose time is up, whichever process opened it; the ids of
    the games closed."""
    now = now or timezone.now()
    overdue = Game.objects.filter(state=Game.State.QUESTION_OPEN, deadline__lte=now - grace())
    return [
        game_id
        for game_id in overdue.values_list("id", flat=True)
        if close_question_if_due(game_id=game_id, now=now)
    ]


def report_answers(*, game_id: int) -> None:
    """Tell the host how many have answered, and close the question if everyone still in has.

    Answers themselves count nothing: the ticker calls this for the games that had answers,
    a few times a second at most."""
    game = Game.objects.filter(pk=game_id).first()
    if game is None or game.state != Game.State.QUESTION_OPEN:
        return
    counts = selectors.answer_counts(game=game)
    live.publish_frame(
        frames.answer_count(
            game_id=game.id, version=game.version, question_id=game.current_question_id, **counts
        )
    )
    if selectors.everyone_answered(counts):
        close_question_if_due(game_id=game.id, question_id=game.current_question_id)


def fair_response_ms(*, reaction_ms: int | None, elapsed_ms: int) -> int:
    """The time an answer took, for points: the player's own reaction time as its page
    measured it (question shown to click), within what the server can check.

    Never more than the time since the question opened (`elapsed_ms`, as the server saw the
    answer arrive), never less than that minus QUIZ_DELIVERY_ALLOWANCE_MS, the time allowed
    for the question to reach the phone and the answer to come back. Without a reaction time,
    the server's own elapsed time.
    """
    elapsed_ms = max(elapsed_ms, 0)
    if reaction_ms is None:
        return elapsed_ms
    floor = max(elapsed_ms - settings.QUIZ_DELIVERY_ALLOWANCE_MS, 0)
    return min(max(reaction_ms, floor), elapsed_ms)


@dataclass(frozen=True)
class ArrivedAnswer:
    """One player's answer as it reached the site, by whatever way: `choice_ids` (an order
    question's items in the player's order, by the ids it was shown) or the `text` a
    type-answer question's player typed; `arrived` is when it reached the server (the
    broker's stamp, or the request's arrival), `reaction_ms` what the page measured."""

    game_id: int
    player_id: int | None
    question_id: int
    choice_ids: tuple[int, ...] = ()
    text: str | None = None
    reaction_ms: int | None = None
    arrived: datetime = field(default_factory=timezone.now)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def answer_from_json(
    *, data: Any, game_id: int, player_id: int | None, arrived: datetime
) -> ArrivedAnswer:
    """An answer as a page sends it (POSTed, or over the broker): `{"question_id",
    "choice_ids" or "text", "reaction_ms"}`; GameError `invalid_input` if it is not one."""
    if not isinstance(data, dict):
        raise GameError("invalid_input", "An answer is a JSON object.", 400)
    question_id, choice_ids = data.get("question_id"), data.get("choice_ids", [])
    text, reaction_ms = data.get("text"), data.get("reaction_ms")
    if (
        not _is_int(question_id)
        or not isinstance(choice_ids, list)
        or not all(_is_int(c) for c in choice_ids)
        or ("choice_ids" in data) == ("text" in data)
        or text is not None
        and not isinstance(text, str)
    ):
        raise GameError(
            "invalid_input", "Send question_id and either a list of choice_ids or a text.", 400
        )
    if reaction_ms is not None and (not _is_int(reaction_ms) or reaction_ms < 0):
        raise GameError("invalid_input", "reaction_ms is a whole number of milliseconds.", 400)
    return ArrivedAnswer(
        game_id=game_id,
        player_id=player_id,
        question_id=question_id,
        choice_ids=tuple(choice_ids),
        text=text,
        reaction_ms=reaction_ms,
        arrived=arrived,
    )


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """An answer record_answers kept: what a POST's acknowledgement tells (its points come
    with the question's close)."""

    id: int
    question_id: int
    response_ms: int


def submit_answer(*, answer: ArrivedAnswer) -> RecordedAnswer:
    """Record one answer (POSTed over HTTP) if it left the player in time; GameError if
    refused."""
    (outcome,) = record_answers(answers=[answer])
    if isinstance(outcome, GameError):
        raise outcome
    return outcome


def record_answers(*, answers: Sequence[ArrivedAnswer]) -> list[RecordedAnswer | GameError]:
    """Record each answer that left its player in time, all in one transaction; for each,
    what was recorded or why it was refused, in order.

    Constant work per answer: no count, no score and no frame here (see report_answers and
    _close), and the game row only shared, so answers never wait for each other
    (answer_sql). A batch costs a few statements per game it answers, whatever its size:
    the game and its question are read once, the players at once, the answers inserted at
    once, and one commit.
    """
    by_game: dict[int, list[int]] = {}
    for index, arrived in enumerate(answers):
        by_game.setdefault(arrived.game_id, []).append(index)
    outcomes: dict[int, RecordedAnswer | GameError] = {}  # by index in `answers`
    with transaction.atomic():
        for game_id, indexes in by_game.items():
            recorded = _record_to_game(game_id, [answers[index] for index in indexes])
            outcomes.update(zip(indexes, recorded, strict=True))
            if any(isinstance(outcome, RecordedAnswer) for outcome in recorded):
                transaction.on_commit(lambda game_id=game_id: answers_arrived(game_id))
    return [outcomes[index] for index in range(len(answers))]


def _already_answered() -> GameError:
    return GameError("already_answered", "You have already answered this question.", 409)


def _record_to_game(game_id: int, answers: list[ArrivedAnswer]) -> list[RecordedAnswer | GameError]:
    """The answers of record_answers to one game, under its transaction."""
    game = answer_sql.read_game(game_id=game_id)
    if game is None:
        return [GameError("unknown_game", "There is no such game.", 404) for _ in answers]
    players = answer_sql.read_players(
        game_id=game_id, player_ids=(a.player_id for a in answers if a.player_id is not None)
    )
    question = _AnsweredQuestion.of(game_id=game_id, game=game)
    checked: list[answer_sql.NewAnswer | GameError] = []
    answering: set[int] = set()  # players with an answer in this batch: the first counts
    for arrived in answers:
        try:
            new = question.check(arrived, players.get(arrived.player_id or 0))
        except GameError as refusal:
            checked.append(refusal)
            continue
        checked.append(new if new.player_id not in answering else _already_answered())
        answering.add(new.player_id)
    inserted = answer_sql.insert_answers([a for a in checked if not isinstance(a, GameError)])
    return [
        a
        if isinstance(a, GameError)
        else _already_answered()  # one_answer_per_question: the database has the last word
        if a.player_id not in inserted
        else RecordedAnswer(inserted[a.player_id], a.question_id, a.response_ms)
        for a in checked
    ]


@dataclass(frozen=True)
class _AnsweredQuestion:
    """What the answers of one batch to one game are checked against, read once for all."""

    game: answer_sql.OpenGame
    given: ReadAnswer | None  # reads an answer to the open question by its kind; None: none open
    closes: datetime | None  # the deadline and its grace: later, nothing counts

    @classmethod
    def of(cls, *, game_id: int, game: answer_sql.OpenGame) -> "_AnsweredQuestion":
        given = None
        if game.state == Game.State.QUESTION_OPEN and game.question_id is not None:
            assert game.question_kind is not None
            given = kinds.of(game.question_kind).answers_to(
                game_id=game_id, question_id=game.question_id
            )
        closes = game.deadline + grace() if game.deadline is not None else None
        return cls(game, given, closes)

    def check(
        self, arrived: ArrivedAnswer, player: answer_sql.PlayerState | None
    ) -> answer_sql.NewAnswer:
        """The row to insert for `arrived` (from `player`, None if not of the game), or the
        GameError that refuses it."""
        game, now = self.game, arrived.arrived
        _refuse_unless_playing(
            joined=player is not None and arrived.player_id is not None,
            kicked=player is not None and player.kicked,
            left=player is not None and player.left,
        )
        assert player is not None and arrived.player_id is not None  # refused above
        if player.waiting:
            raise GameError("waiting", WAITING, 409)
        if game.state != Game.State.QUESTION_OPEN or game.question_id != arrived.question_id:
            raise GameError("question_not_open", "That question is not open.", 409)
        assert game.opened_at is not None and game.deadline is not None
        assert self.closes is not None
        if now < game.opened_at:
            raise GameError("not_open_yet", "The answers are not open yet.", 409)
        if now >= self.closes:
            raise GameError("too_late", "The time for this question is up.", 409)
        elapsed_ms = int((now - game.opened_at).total_seconds() * 1000)
        response_ms = fair_response_ms(reaction_ms=arrived.reaction_ms, elapsed_ms=elapsed_ms)
        if game.opened_at + timedelta(milliseconds=response_ms) >= game.deadline:
            raise GameError("too_late", "The time for this question is up.", 409)
        assert self.given is not None
        given = self.given(list(arrived.choice_ids), arrived.text)
        return answer_sql.NewAnswer(
            player_id=arrived.player_id,
            question_id=arrived.question_id,
            answered_at=now,
            response_ms=response_ms,
            choice_ids=given.choice_ids,
            text=given.text,
            order_ids=given.order_ids,
        )


def answers_arrived(game_id: int) -> None:
    """Answers to `game_id` were recorded: the ticker reports them soon (report_answers)."""
    arrivals.answered_games.add(game_id)


def _check_kick(ban_address: bool) -> None:
    if ban_address and not settings.QUIZ_BAN_BY_ADDRESS:
        raise GameError(
            "address_bans_off", "This site bars no addresses (QUIZ_BAN_BY_ADDRESS is off).", 400
        )


@transaction.atomic
def kick_player(
    *, game_id: int, player_id: int, user: AbstractBaseUser | None, ban_address: bool = False
) -> Player:
    """Remove a player, at any time before the game finishes: neither their browser nor their
    nickname may join this game (or another of its room) again, nor their address if the host
    asks (`ban_address`: a class behind one address shares it), their page is refused a new
    broker token, and once the kick is committed the broker cuts off their open connections
    (a page that ignores its kick frame stops receiving)."""
    _check_kick(ban_address)
    game = _lock(game_id)
    _require_host(game, user)
    (player,) = _kick(game, [player_id], ban_address)
    _publish_departure(game, player, "kicked")
    _cut_off([player])
    return player


@transaction.atomic
def kick_players(
    *,
    game_id: int,
    player_ids: Sequence[int],
    user: AbstractBaseUser | None,
    ban_address: bool = False,
) -> list[Player]:
    """Remove many players at once, each as kick_player does, in one change of the game and
    one `players_kicked` frame: a host clearing a flood of bots. All of them or, if any is not
    in the game, none."""
    _check_kick(ban_address)
    ids = list(dict.fromkeys(player_ids))
    if not ids:
        raise GameError("invalid_input", "Name at least one player to remove.", 400)
    game = _lock(game_id)
    _require_host(game, user)
    players = _kick(game, ids, ban_address)
    _publish(
        frames.players_kicked(
            game_id=game.id,
            version=_bump(game),
            players=[selectors.player_entry(game=game, player=p) for p in players],
            count=game.players.active().count(),
        )
    )
    _close_if_everyone_answered(game)
    _cut_off(players)
    return players


def _kick(game: Game, player_ids: list[int], ban_address: bool) -> list[Player]:
    """Mark `player_ids`, all of them players still in `game`, kicked."""
    players = list(Player.objects.active().filter(game=game, pk__in=player_ids))
    if len(players) != len(player_ids):
        raise GameError("unknown_player", "No such player in this game.", 404)
    if game.state == Game.State.FINISHED:
        raise GameError("wrong_state", "The game has finished.", 409)
    for player in players:
        player.kicked = True
        player.address_banned = ban_address
    Player.objects.bulk_update(players, ["kicked", "address_banned"])
    return players


def _cut_off(players: list[Player]) -> None:
    """Once the kick is committed, and after its frame (which tells the player's page why),
    cut each player off the broker."""
    logins = [tokens.player_login(player) for player in players]

    def cut_off() -> None:
        for login in logins:
            live.cut_off(
                login=login,
                queue_prefix=tokens.queue_prefix(login),
                reason="kicked from the game by its host",
            )

    transaction.on_commit(cut_off)


@transaction.atomic
def leave_game(*, game_id: int, player_id: int | None, now: datetime | None = None) -> Player:
    """A player leaves of their own accord: off the screens and out of the answer count."""
    game = _lock(game_id)
    player = get_player(game_id=game.id, player_id=player_id)
    if game.state == Game.State.FINISHED:
        raise GameError("wrong_state", "The game has finished.", 409)
    player.left_at = now or timezone.now()
    player.save(update_fields=["left_at"])
    _publish_departure(game, player, "left")
    return player


def _publish_departure(game: Game, player: Player, why: str) -> None:
    """Tell every screen (the player's own too), and close the open question if everyone
    still in has answered."""
    _publish(
        frames.player_departed(
            game_id=game.id,
            version=_bump(game),
            why=why,
            player=selectors.player_entry(game=game, player=player),  # rank None: out
            count=game.players.active().count(),
        )
    )
    _close_if_everyone_answered(game)


def _close_if_everyone_answered(game: Game) -> None:
    if game.state == Game.State.QUESTION_OPEN and selectors.everyone_answered(
        selectors.answer_counts(game=game)
    ):
        _close(game)


@transaction.atomic
def end_game(*, game_id: int, user: AbstractBaseUser | None, now: datetime | None = None) -> Game:
    """The host ends the game at any point; scores so far stand."""
    game = _lock(game_id)
    _require_host(game, user)
    if game.state == Game.State.FINISHED:
        raise GameError("wrong_state", "The game has already finished.", 409)
    if game.state == Game.State.QUESTION_OPEN:
        _close(game)
    _finish(game, now or timezone.now())
    return game
