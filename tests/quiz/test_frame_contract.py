"""Every frame the game publishes has the shape docs/game.md gives it, on the topic it names."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quiz.game import services

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "game.md"

GAME = {"id", "pin", "state", "question_index", "question_count", "player_count"}
QUESTION = {
    "id",
    "index",
    "count",
    "kind",
    "text",
    "image_url",
    "choices",
    "multiple",
    "time_limit",
    "points",
    "opened_at",
    "deadline",
}
PLAYER = {"id", "nickname", "score", "rank", "streak"}
RESULTS = {
    "question_id",
    "correct_choice_ids",
    "accepted_answers",
    "correct_order",
    "distribution",
    "players",
}
ROOM = {"locked", "latecomers_wait", "generated_nicknames", "blocked_words"}
# type: (topic, the data's keys, the keys of the parts it carries)
CONTRACT = {
    "lobby": ("status", {"game"}, {"game": GAME}),
    "question_open": (
        "status",
        {"game", "question", "server_time"},
        {"game": GAME, "question": QUESTION},
    ),
    "question_closed": ("status", {"game", "results"}, {"game": GAME, "results": RESULTS}),
    "leaderboard": ("status", {"players"}, {}),
    "finished": ("status", {"game", "podium", "players"}, {"game": GAME}),
    "player_left": ("status", {"player", "count"}, {"player": PLAYER}),
    "player_kicked": ("status", {"player", "count"}, {"player": PLAYER}),
    "players_kicked": ("status", {"players", "count"}, {}),
    "next_game": ("status", {"game_id"}, {}),
    "player_joined": ("players", {"player", "count", "answering"}, {"player": PLAYER}),
    "room": ("players", {"room"}, {"room": ROOM}),
    "answer_count": ("players", {"question_id", "count", "total"}, {}),
    "my_result": (
        "replies",
        {"question_id", "player"},
        {"player": PLAYER | {"correct", "points", "streak_bonus", "behind"}},
    ),
}


@pytest.fixture
def published(quiz, author, no_broker, django_capture_on_commit_callbacks) -> list:
    """The frames of a game that uses every frame type once or more."""
    with django_capture_on_commit_callbacks(execute=True):
        game = services.create_game(quiz=quiz, host=author)
        ann, bo, cy, di, ed = (
            services.join_game(game_id=game.id, nickname=name)
            for name in ("Ann", "Bo", "Cy", "Di", "Ed")
        )
        services.kick_player(game_id=game.id, player_id=di.id, user=author)
        services.kick_players(game_id=game.id, player_ids=[ed.id], user=author)
        services.lock_game(game_id=game.id, user=author)
        services.start_game(game_id=game.id, user=author, now=T0)
        game.refresh_from_db()
        question = game.current_question
        services.submit_answer(
            answer=services.ArrivedAnswer(
                game_id=game.id,
                player_id=ann.id,
                question_id=question.id,
                choice_ids=[question.choices.first().id],
                reaction_ms=900,
                arrived=T0 + timedelta(seconds=1),
            )
        )
        services.report_answers(game_id=game.id)
        services.leave_game(game_id=game.id, player_id=cy.id)
        services.close_question(game_id=game.id, user=author)
        services.end_game(game_id=game.id, user=author)
        services.play_again(game_id=game.id, user=author)
    assert bo is not None
    return game.id, no_broker


def test_every_frame_type_is_published(published) -> None:
    _, frames = published
    assert {frame["type"] for _, frame in frames} == set(CONTRACT)


def test_every_frame_has_its_topic_envelope_and_keys(published) -> None:
    game_id, frames = published
    for destination, frame in frames:
        if frame["type"] == "lobby" and destination != f"/topic/games.{game_id}.status":
            continue  # play again's new game
        topic, keys, parts = CONTRACT[frame["type"]]
        if topic == "replies":
            player_id = frame["data"]["player"]["id"]
            assert destination == f"/topic/replies.{game_id}.{player_id}", frame["type"]
        else:
            assert destination == f"/topic/games.{game_id}.{topic}", frame["type"]
        assert set(frame) == {"type", "version", "data"}
        assert set(frame["data"]) == keys, frame["type"]
        for part, part_keys in parts.items():
            assert set(frame["data"][part]) == part_keys, (frame["type"], part)


def test_docs_describe_every_frame_and_key() -> None:
    frames_section = DOCS.read_text().split("## Frames published on the broker")[1]
    frames_section = frames_section.split("\n## ")[0]
    for type_, (_, keys, _) in CONTRACT.items():
        entry = re.search(rf"- (?:`\w+` / )*`{type_}`.*?(?=\n\s*- `|\Z)", frames_section, re.S)
        assert entry is not None, f"docs/game.md does not describe {type_}"
        for key in keys:
            assert f'"{key}"' in entry.group(0), f"docs/game.md: {type_} lacks {key}"


@pytest.fixture
def published_every_kind(kinds_quiz, author, no_broker, django_capture_on_commit_callbacks):
    """The frames of a game through a question of every kind, one player answering none."""
    with django_capture_on_commit_callbacks(execute=True):
        game = services.create_game(quiz=kinds_quiz, host=author)
        services.join_game(game_id=game.id, nickname="Ann")
        services.start_game(game_id=game.id, user=author, now=T0)
        for _ in range(kinds_quiz.questions.count()):
            services.close_question(game_id=game.id, user=author)
            services.open_next_question(game_id=game.id, user=author, now=T0)
    return no_broker


def test_the_question_and_results_of_every_kind_have_the_contracts_keys(
    published_every_kind,
) -> None:
    kinds = []
    for _, frame in published_every_kind:
        if frame["type"] == "question_open":
            assert set(frame["data"]["question"]) == QUESTION
            kinds.append(frame["data"]["question"]["kind"])
        if frame["type"] == "question_closed":
            assert set(frame["data"]["results"]) == RESULTS
    assert kinds == ["choice", "true_false", "poll", "type_answer", "order"]


def test_docs_name_every_key_of_the_question_and_results() -> None:
    docs = DOCS.read_text()
    for key in QUESTION | RESULTS:
        assert f'"{key}"' in docs, f"docs/game.md does not name {key}"
    kinds = docs.split("## Question kinds")[1].split("\n## ")[0]
    for kind in ("choice", "true_false", "poll", "type_answer", "order"):
        assert f"| `{kind}` |" in kinds, f"docs/game.md: Question kinds lacks {kind}"


def test_a_refused_answers_reply_goes_to_that_players_page_alone_as_the_docs_describe() -> None:
    from quiz.live import frames

    reply = frames.answer_refused(
        game_id=4, player_id=7, version=3, question_id=5, error="too_late", detail="Too late."
    )
    assert reply.destination == "/topic/replies.4.7"
    assert reply.body() == {
        "type": "answer_refused",
        "version": 3,
        "data": {"question_id": 5, "error": "too_late", "detail": "Too late."},
    }
    replies = DOCS.read_text().split("- **Replies**")[1].split("\n## ")[0]
    assert "`answer_refused`" in replies
    for key in reply.data:
        assert f'"{key}"' in replies, key


def test_a_close_tells_everyone_the_top_five_and_each_player_its_own_line(
    game, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    """A hall's every line in every phone's frame would be megabytes a phone: the status
    frames carry the top of the ranking, and each player hears its own line on its replies
    topic, with the one it is behind."""
    with django_capture_on_commit_callbacks(execute=True):
        players = [services.join_game(game_id=game.id, nickname=f"P{index}") for index in range(8)]
        services.start_game(game_id=game.id, user=author, now=T0)
        game.refresh_from_db()
        paris = game.current_question.choices.get(text="Paris")
        for index, player in enumerate(players[:7]):  # P7 does not answer
            services.submit_answer(
                answer=services.ArrivedAnswer(
                    game_id=game.id,
                    player_id=player.id,
                    question_id=game.current_question_id,
                    choice_ids=(paris.id,),
                    reaction_ms=1000 + 1000 * index,  # P0 fastest: most points
                    arrived=T0 + timedelta(seconds=1 + index),
                )
            )
        no_broker.clear()
        services.close_question(game_id=game.id, user=author)
    by_type: dict[str, list] = {}
    for destination, frame in no_broker:
        by_type.setdefault(frame["type"], []).append((destination, frame))
    [(_, closed)] = by_type["question_closed"]
    [(_, leaderboard)] = by_type["leaderboard"]
    names = ["P0", "P1", "P2", "P3", "P4"]
    assert [line["nickname"] for line in closed["data"]["results"]["players"]] == names
    assert [line["nickname"] for line in leaderboard["data"]["players"]] == names
    assert closed["data"]["results"]["distribution"]  # the whole room's answers, counted
    results = {frame["data"]["player"]["nickname"]: (destination, frame)
               for destination, frame in by_type["my_result"]}  # fmt: skip
    assert sorted(results) == sorted(f"P{index}" for index in range(8))
    destination, p6 = results["P6"]
    assert destination == f"/topic/replies.{game.id}.{players[6].id}"
    line = p6["data"]["player"]
    assert (line["rank"], line["correct"], line["points"] > 0) == (7, True, True)
    p5_score = results["P5"][1]["data"]["player"]["score"]
    assert line["behind"] == {"nickname": "P5", "score": p5_score}
    assert p6["version"] == leaderboard["version"]  # applied whenever it comes
    assert results["P0"][1]["data"]["player"]["behind"] is None
    last = results["P7"][1]["data"]["player"]
    assert (last["rank"], last["correct"], last["points"]) == (8, False, 0)
