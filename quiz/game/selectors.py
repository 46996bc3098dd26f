"""Reads: the snapshot a page loads and the pieces frames carry."""

from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from quiz.game.models import Answer, Game, Player, Question


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ranked_players(*, game: Game) -> list[dict[str, Any]]:
    """Active players by score (ties share a rank), the shape every frame uses."""
    players = (game.players.active().order_by("-score", "joined_at", "id")
               .values_list("id", "nickname", "score"))
    ranked: list[dict[str, Any]] = []
    rank = 0
    previous: int | None = None
    for position, (id_, nickname, score) in enumerate(players, start=1):
        if score != previous:
            rank, previous = position, score
        ranked.append({"id": id_, "nickname": nickname, "score": score, "rank": rank})
    return ranked


def player_entry(*, game: Game, player: Player,
                 ranked: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The player's line of the ranking (`ranked`, if the caller has it already)."""
    for entry in ranked if ranked is not None else ranked_players(game=game):
        if entry["id"] == player.id:
            return entry
    return {"id": player.id, "nickname": player.nickname, "score": player.score, "rank": None}


def game_data(*, game: Game) -> dict[str, Any]:
    return {"id": game.id, "pin": game.pin, "state": game.state,
            "question_index": game.question_index,
            "question_count": game.quiz.questions.count()}


def question_data(*, game: Game) -> dict[str, Any] | None:
    """The current question without correctness."""
    question = game.current_question
    if question is None or game.state == Game.State.LOBBY:
        return None
    choices = list(question.choices.all())
    return {"id": question.id, "index": game.question_index,
            "count": game.quiz.questions.count(), "text": question.text,
            "image_url": question.picture_url,
            "choices": [{"id": c.id, "text": c.text} for c in choices],
            "multiple": sum(c.is_correct for c in choices) > 1,
            "time_limit": question.time_limit, "points": question.points,
            "opened_at": ms(game.opened_at) if game.opened_at else None,
            "deadline": ms(game.deadline) if game.deadline else None}


def answer_counts(*, game: Game) -> dict[str, int]:
    """Answers to the current question from players still in, and how many are still in."""
    counts = game.players.active().aggregate(
        count=Count("answers", filter=Q(answers__question_id=game.current_question_id)),
        total=Count("id", distinct=True))
    return {"count": counts["count"], "total": counts["total"]}


def everyone_answered(counts: dict[str, int]) -> bool:
    """Every player still in the game has answered the open question (answer_counts)."""
    return counts["total"] > 0 and counts["count"] >= counts["total"]


def results_data(*, game: Game) -> dict[str, Any] | None:
    """Correct choices, distribution and per-player outcome of the last closed question."""
    question: Question | None = game.current_question
    if question is None or game.state not in (Game.State.QUESTION_CLOSED, Game.State.FINISHED):
        return None
    correct_ids = list(question.choices.filter(is_correct=True).values_list("id", flat=True))
    distribution = {str(c.id): 0 for c in question.choices.all()}
    rows = (Answer.choices.through.objects
            .filter(answer__question=question, answer__player__game=game)
            .values("choice_id").annotate(n=Count("id")).values_list("choice_id", "n"))
    for choice_id, n in rows:
        distribution[str(choice_id)] = n
    answers = {a.player_id: a for a in Answer.objects.filter(question=question, player__game=game)}
    players = []
    for entry in ranked_players(game=game):
        answer = answers.get(entry["id"])
        players.append({**entry, "correct": bool(answer and answer.correct),
                        "points": answer.points if answer else 0})
    return {"question_id": question.id, "correct_choice_ids": correct_ids,
            "distribution": distribution, "players": players}


def podium(*, game: Game) -> list[dict[str, Any]] | None:
    if game.state != Game.State.FINISHED:
        return None
    return ranked_players(game=game)[:3]


def snapshot(*, game: Game, player: Player | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """Everything a page needs to draw the game at `game.version`."""
    now = now or timezone.now()
    ranked = ranked_players(game=game)
    me = None
    if player is not None:
        entry = player_entry(game=game, player=player, ranked=ranked)
        answered = bool(game.current_question_id) and Answer.objects.filter(
            player=player, question_id=game.current_question_id).exists()
        me = {**entry, "answered": answered}
    return {"version": game.version, "server_time": ms(now), "game": game_data(game=game),
            "players": ranked, "question": question_data(game=game),
            "answers": answer_counts(game=game), "results": results_data(game=game),
            "podium": podium(game=game), "me": me}
