"""After the game: the author's report, the games listed on their quiz, and "play again"."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quiz.game import services
from quiz.game.models import Game, Player, Quiz

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def finished_game(quiz: Quiz, author: User) -> Game:
    """Ann right in 2 s and Bo wrong in 4 s on the first question; Cy answers nothing and
    leaves; nobody answers the second."""
    game = services.create_game(quiz=quiz, host=author)
    ann, bo, cy = (
        services.join_game(game_id=game.id, nickname=name) for name in ("Ann", "Bo", "Cy")
    )
    services.start_game(game_id=game.id, user=author, now=T0)
    game.refresh_from_db()
    question = game.current_question
    for player, correct, seconds in ((ann, True, 2), (bo, False, 4)):
        services.submit_answer(
            answer=services.ArrivedAnswer(
                game_id=game.id,
                player_id=player.id,
                question_id=question.id,
                choice_ids=[question.choices.filter(is_correct=correct).first().id],
                reaction_ms=seconds * 1000,
                arrived=T0 + timedelta(seconds=seconds),
            )
        )
    # everyone still in has answered once Cy leaves: the question closes
    services.leave_game(game_id=game.id, player_id=cy.id, now=T0 + timedelta(seconds=5))
    services.open_next_question(game_id=game.id, user=author, now=T0 + timedelta(seconds=30))
    services.close_question(game_id=game.id, user=author)
    services.open_next_question(game_id=game.id, user=author, now=T0 + timedelta(seconds=60))
    game.refresh_from_db()
    assert game.state == Game.State.FINISHED
    return game


@pytest.fixture
def author_client(author: User) -> Client:
    client = Client()
    client.force_login(author)
    return client


def rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table with this id."""
    table = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [
        [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in body.split("</tr>")
            if "<td" in row
        )
    ]


def test_the_report_gives_each_questions_share_right_and_average_time(
    finished_game: Game, author_client: Client
) -> None:
    page = author_client.get(f"/games/{finished_game.id}/report/").content.decode()
    assert rows(page, "report-questions") == [
        ["1", "Capital of France?", "2", "50%", "3.0 s"],
        ["2", "Even numbers?", "0", "–", "–"],
    ]


def test_the_report_gives_every_players_answers(finished_game: Game, author_client) -> None:
    page = author_client.get(f"/games/{finished_game.id}/report/").content.decode()
    ann = Player.objects.get(game=finished_game, nickname="Ann")
    assert rows(page, "report-players") == [
        ["1", "Ann", str(ann.score), f"✓ Paris {ann.score} pts · 2.0 s", "no answer"],
        ["2", "Bo", "0", "✗ Rome 0 pts · 4.0 s", "no answer"],
        ["–", "Cy (left)", "0", "no answer", "no answer"],
    ]


def test_only_the_author_sees_the_report(finished_game: Game) -> None:
    other = User.objects.create_user("other", password="pw-123456")
    client = Client()
    client.force_login(other)
    assert client.get(f"/games/{finished_game.id}/report/").status_code == 403
    assert Client().get(f"/games/{finished_game.id}/report/").status_code == 302  # to login


def test_the_quiz_page_lists_its_games_with_their_report(
    finished_game: Game, author_client: Client
) -> None:
    page = author_client.get(f"/quizzes/{finished_game.quiz_id}/edit/").content.decode()
    [row] = rows(page, "game-list")
    assert row[1:4] == [finished_game.pin, "3", "Finished"]
    assert f'href="/games/{finished_game.id}/report/"' in page


def test_play_again_opens_a_new_game_of_the_same_quiz_for_the_same_host(
    finished_game: Game, author_client: Client, author: User
) -> None:
    page = author_client.get(f"/games/{finished_game.id}/host/").content.decode()
    assert f'action="/games/{finished_game.id}/play-again/"' in page
    assert 'id="play-again"' in page and 'href="/quizzes/"' in page
    reply = author_client.post(f"/games/{finished_game.id}/play-again/")
    again = Game.objects.exclude(pk=finished_game.pk).get()
    assert reply.status_code == 302 and reply["Location"] == f"/games/{again.id}/host/"
    assert (again.quiz_id, again.host_id, again.state) == (
        finished_game.quiz_id,
        author.id,
        Game.State.LOBBY,
    )
