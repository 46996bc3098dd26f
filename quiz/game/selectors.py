"""Reads: the snapshot a page loads and the pieces frames carry."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone

from quiz.game import join_sql, kinds
from quiz.game.models import Answer, Choice, Game, Player, Question

# A phone's snapshot names the top of the ranking and its own line, not every player: with a
# thousand players, a whole ranking in every phone's snapshot is most of the site's work.
TOP_PLAYERS = 5


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def recent_joins(*, address: str | None, now: datetime | None = None) -> int:
    """Players joined from this address, to any game, in the last minute: the join throttle
    counts the rows a join writes anyway, instead of writing a count of its own."""
    since = (now or timezone.now()) - timedelta(minutes=1)
    return join_sql.joins_since(address=address, since=since)


def ranked_players(*, game: Game, limit: int | None = None) -> list[dict[str, Any]]:
    """Active players by score (ties share a rank), the shape every frame uses; the first
    `limit` of them, if given."""
    players = (
        game.players.active()
        .order_by("-score", "joined_at", "id")
        .values_list("id", "nickname", "score", "streak")
    )[:limit]
    ranked: list[dict[str, Any]] = []
    rank = 0
    previous: int | None = None
    for position, (id_, nickname, score, streak) in enumerate(players, start=1):
        if score != previous:
            rank, previous = position, score
        ranked.append(
            {"id": id_, "nickname": nickname, "score": score, "rank": rank, "streak": streak}
        )
    return ranked


def player_entry(*, game: Game, player: Player, above: int | None = None) -> dict[str, Any]:
    """The player's line of the ranking: ties share a rank, as in ranked_players (`above`:
    how many players still in have more points, if the caller counted them)."""
    if player.kicked or player.left_at is not None:
        rank = None
    else:
        if above is None:
            above = game.players.active().filter(score__gt=player.score).count()
        rank = 1 + above
    return {
        "id": player.id,
        "nickname": player.nickname,
        "score": player.score,
        "rank": rank,
        "streak": player.streak,
    }


def player_counts(*, game: Game, score: int) -> dict[str, int]:
    """How many players are still in (`total`), and how many of them have more than `score`
    points (`above`): a player's rank and its "of N", in one query."""
    total, above = join_sql.player_counts(game_id=game.id, score=score)
    return {"total": total, "above": above}


def room_data(*, game: Game) -> dict[str, Any]:
    """The room as its host set it (services.lock_game, set_room_options)."""
    return {
        "locked": game.locked,
        "latecomers_wait": game.latecomers_wait,
        "generated_nicknames": game.generated_nicknames,
        "blocked_words": game.blocked_words,
    }


def next_game(*, game: Game) -> dict[str, int] | None:
    """The game its host opened after this one (play again), which its players follow into."""
    return Game.objects.filter(previous_game=game).values("id").first()


def game_data(*, game: Game, player_count: int | None = None) -> dict[str, Any]:
    """The game's line of every snapshot and frame (`player_count`, if the caller has it)."""
    if player_count is None:
        player_count = game.players.active().count()
    return {
        "id": game.id,
        "pin": game.pin,
        "state": game.state,
        "question_index": game.question_index,
        "question_count": game.quiz.question_count,
        "player_count": player_count,
    }


def question_data(*, game: Game) -> dict[str, Any] | None:
    """The current question without anything that tells its answer: no correctness, and its
    choices as its kind shows them (QuestionKind.shown_choices)."""
    question = game.current_question
    if question is None or game.state == Game.State.LOBBY:
        return None
    choices = list(question.choices.all())
    rules = kinds.of(question.kind)
    return {
        "id": question.id,
        "index": game.question_index,
        "count": game.quiz.question_count,
        "kind": question.kind,
        "text": question.text,
        "image_url": question.picture_url,
        "choices": rules.shown_choices(game=game, question=question, choices=choices),
        "multiple": rules.multiple(choices),
        "time_limit": question.time_limit,
        "points": question.points,
        "opened_at": ms(game.opened_at) if game.opened_at else None,
        "deadline": ms(game.deadline) if game.deadline else None,
    }


def answer_counts(*, game: Game) -> dict[str, int]:
    """Answers to the current question from players still in, and how many are still in to
    answer it (latecomers waiting for the next one are not). Two counts over indexes: the
    question's answers, and the players still in (the ticker asks a few times a second while
    a hall answers; a join of every player with all its answers grew with each question)."""
    playing = game.players.active().filter(waiting=False)
    count = Answer.objects.filter(
        question_id=game.current_question_id, player__in=playing.values("id")
    ).count()
    return {"count": count, "total": playing.count()}


def everyone_answered(counts: dict[str, int]) -> bool:
    """Every player still in the game has answered the open question (answer_counts)."""
    return counts["total"] > 0 and counts["count"] >= counts["total"]


def _outcome(*, game: Game, question: Question) -> dict[str, Any]:
    """The right answer of a closed question and how the players answered
    (`distribution`), as its kind tells them (QuestionKind.outcome); the right answer's
    fields of the other kinds empty."""
    outcome = {"correct_choice_ids": [], "accepted_answers": [], "correct_order": []}
    return outcome | kinds.of(question.kind).outcome(
        game=game, question=question, choices=list(question.choices.all())
    )


def results_data(
    *, game: Game, ranking: list[dict[str, Any]] | None = None, player: Player | None = None
) -> dict[str, Any] | None:
    """The right answer and the distribution of the last closed question, and the lines of
    `ranking` (by default the top of it, TOP_PLAYERS) each with what the question brought
    them; with `player`, its own line too, wherever it stands (a phone's snapshot)."""
    question: Question | None = game.current_question
    if question is None or game.state not in (Game.State.QUESTION_CLOSED, Game.State.FINISHED):
        return None
    if ranking is None:
        ranking = ranked_players(game=game, limit=TOP_PLAYERS)
    if player is not None and all(entry["id"] != player.id for entry in ranking):
        ranking = [*ranking, player_entry(game=game, player=player)]
    return {
        "question_id": question.id,
        **_outcome(game=game, question=question),
        "players": _with_what_it_brought(question=question, ranking=ranking),
    }


def _with_what_it_brought(
    *, question: Question, ranking: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each entry of `ranking` with its answer's outcome: right or not, its points and streak
    bonus (none without an answer). One query whatever the ranking's length, and no model
    objects: at a close it is every player of a hall."""
    answers = Answer.objects.filter(question=question)
    if len(ranking) <= TOP_PLAYERS + 1:
        answers = answers.filter(player_id__in=[entry["id"] for entry in ranking])
    brought = {
        player_id: (correct, points, bonus)
        for player_id, correct, points, bonus in answers.values_list(
            "player_id", "correct", "points", "streak_bonus"
        )
    }
    lines = []
    for entry in ranking:
        correct, points, bonus = brought.get(entry["id"], (False, 0, 0))
        lines.append({**entry, "correct": bool(correct), "points": points, "streak_bonus": bonus})
    return lines


def next_one_up(ranking: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """For each entry of `ranking` (in rank order), the player its phone says it is behind:
    the first of the next score up, or None for the leaders (as `one_up` finds it)."""
    behind: list[dict[str, Any] | None] = []
    above: dict[str, Any] | None = None
    group: dict[str, Any] | None = None  # the first entry of the current score
    for entry in ranking:
        if group is None or group["score"] != entry["score"]:
            above = group and {"nickname": group["nickname"], "score": group["score"]}
            group = entry
        behind.append(above)
    return behind


def one_up(*, game: Game, player: Player) -> dict[str, Any] | None:
    """The player `player`'s phone says it is behind: the first, in rank order, of those
    still in with the fewest points more than it; None if nobody has more."""
    return (
        game.players.active()
        .filter(score__gt=player.score)
        .order_by("score", "joined_at", "id")
        .values("nickname", "score")
        .first()
    )


def podium(*, game: Game) -> list[dict[str, Any]] | None:
    if game.state != Game.State.FINISHED:
        return None
    return ranked_players(game=game, limit=3)


def snapshot(
    *, game: Game, player: Player | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything a page needs to draw the game at `game.version`: the host's (no `player`)
    with every player and the answers so far; a player's with the top of the ranking and its
    own line (every phone loads one when it joins, so it is kept to a few small queries)."""
    now = now or timezone.now()
    if player is None:
        ranking = ranked_players(game=game)
        return {
            "version": game.version,
            "server_time": ms(now),
            "game": game_data(game=game),
            "players": ranking,
            "question": question_data(game=game),
            "answers": answer_counts(game=game),
            "results": results_data(game=game, ranking=ranking),
            "podium": podium(game=game),
            "me": None,
            "room": room_data(game=game),
            "next_game": next_game(game=game) if game.state == Game.State.FINISHED else None,
        }
    counts = player_counts(game=game, score=player.score)
    answered = (
        bool(game.current_question_id)
        and Answer.objects.filter(player=player, question_id=game.current_question_id).exists()
    )
    me = {
        **player_entry(game=game, player=player, above=counts["above"]),
        "answered": answered,
        "waiting": player.waiting,
        "behind": None if game.state == Game.State.LOBBY else one_up(game=game, player=player),
    }
    top = ranked_players(game=game, limit=TOP_PLAYERS)
    return {
        "version": game.version,
        "server_time": ms(now),
        "game": game_data(game=game, player_count=counts["total"]),
        "players": top,
        "question": question_data(game=game),
        "answers": None,
        "results": results_data(game=game, ranking=top, player=player),
        "podium": podium(game=game),
        "me": me,
        "next_game": next_game(game=game) if game.state == Game.State.FINISHED else None,
    }


# Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet would read as a formula gets a leading apostrophe, so it shows as the
    text it is. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def answer_text(answer: Answer, texts: dict[int, str]) -> str:
    """An answer as a reader writes it (`texts`: choice id to text): the choices picked, the
    text typed, or the items in the order given ("Moon > Mars > Sun")."""
    if answer.order_ids:
        return " > ".join(texts.get(int(i), "?") for i in answer.order_ids.split(","))
    if answer.text:
        return answer.text
    return ", ".join(choice.text for choice in answer.choices.all())


def _game_answers(*, game: Game) -> dict[int, dict[int, Answer]]:
    """Every answer of the game: player id to question id to answer."""
    answers: dict[int, dict[int, Answer]] = {}
    for answer in (
        Answer.objects.filter(player__game=game).prefetch_related("choices").order_by("id")
    ):
        answers.setdefault(answer.player_id, {})[answer.question_id] = answer
    return answers


def _choice_texts(questions: list[Question]) -> dict[int, str]:
    return dict(Choice.objects.filter(question__in=questions).values_list("id", "text"))


def results_table(*, game: Game) -> list[list[object]]:
    """results.csv: a header, then every player still in by rank with their answer to each
    question (q1, q2, …: as answer_text writes it, empty for none), safe for spreadsheets."""
    questions = list(game.quiz.questions.all())
    texts = _choice_texts(questions)
    answers = _game_answers(game=game)
    correct = dict(game.players.values_list("id", "correct_count"))
    header = ["rank", "nickname", "score", "correct_answers"]
    rows: list[list[object]] = [header + [f"q{n}" for n in range(1, len(questions) + 1)]]
    for entry in ranked_players(game=game):
        mine = answers.get(entry["id"], {})
        row = [entry["rank"], entry["nickname"], entry["score"], correct[entry["id"]]] + [
            answer_text(mine[q.id], texts) if q.id in mine else "" for q in questions
        ]
        rows.append([spreadsheet_safe(value) for value in row])
    return rows


def game_report(*, game: Game) -> dict[str, Any]:
    """The author's report of a game: per question how many answered, the share right (none
    for a poll) and the average time; per player (all of them, in or out) every answer, in
    question order."""
    questions = list(game.quiz.questions.all())
    texts = _choice_texts(questions)
    stats = {
        row["question_id"]: row
        for row in Answer.objects.filter(player__game=game)
        .values("question_id")
        .annotate(
            answered=Count("id"), right=Count("id", filter=Q(correct=True)), ms=Avg("response_ms")
        )
    }
    answers = _game_answers(game=game)
    ranks = {entry["id"]: entry["rank"] for entry in ranked_players(game=game)}
    players = sorted(
        game.players.all(), key=lambda p: (ranks.get(p.id) is None, ranks.get(p.id, 0), p.id)
    )
    return {
        "questions": [
            {
                "text": question.text,
                "kind": kinds.of(question.kind).report_name,
                "answered": stats.get(question.id, {}).get("answered", 0),
                "right_percent": (
                    round(100 * stats[question.id]["right"] / stats[question.id]["answered"])
                    if question.id in stats and kinds.of(question.kind).scored
                    else None
                ),
                "average_seconds": (
                    stats[question.id]["ms"] / 1000 if question.id in stats else None
                ),
            }
            for question in questions
        ],
        "players": [
            {
                "nickname": player.nickname,
                "rank": ranks.get(player.id),
                "score": player.score,
                "status": "kicked" if player.kicked else "left" if player.left_at else "",
                "answers": [
                    _report_answer(answers.get(player.id, {}).get(question.id), question, texts)
                    for question in questions
                ],
            }
            for player in players
        ],
    }


def _report_answer(
    answer: Answer | None, question: Question, texts: dict[int, str]
) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "choices": answer_text(answer, texts),
        "correct": answer.correct if kinds.of(question.kind).scored else None,
        "points": answer.points + answer.streak_bonus,
        "seconds": answer.response_ms / 1000,
    }
