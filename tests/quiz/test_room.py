"""The host controls the room: a lock on joins, a nickname policy (a word list the host can
extend, names that would take over a screen, names handed out), latecomers who wait for the
next question, many players removed at once, and play again keeping the room."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quiz import live
from quiz.game import nicknames, services
from quiz.game.models import Game, Player

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def host_client(author: User) -> Client:
    client = Client()
    client.force_login(author)
    return client


def join_form(client: Client, game: Game, nickname: str):
    return client.post("/join/", {"pin": game.pin, "nickname": nickname})


def answer(game: Game, player: Player, seconds: float = 1):
    question = game.current_question
    return services.submit_answer(
        answer=services.ArrivedAnswer(
            game_id=game.id,
            player_id=player.id,
            question_id=question.id,
            choice_ids=(question.choices.first().id,),
            arrived=game.opened_at + timedelta(seconds=seconds),
        )
    )


# The lock


def test_a_locked_game_refuses_joins_and_changes_nothing(game, author, refused) -> None:
    services.lock_game(game_id=game.id, user=author)
    refused("game_locked", game, lambda: services.join_game(game_id=game.id, nickname="Ann"))
    assert not game.players.exists()


def test_the_join_form_says_the_game_is_locked(game, author) -> None:
    services.lock_game(game_id=game.id, user=author)
    response = join_form(Client(), game, "Ann")
    assert response.status_code == 403
    assert b"This game is locked" in response.content


def test_an_unlocked_game_takes_joins_again(game, author) -> None:
    services.lock_game(game_id=game.id, user=author)
    services.unlock_game(game_id=game.id, user=author)
    assert services.join_game(game_id=game.id, nickname="Ann").nickname == "Ann"


def test_locking_is_the_hosts_alone_with_json_errors(game, author) -> None:
    stranger = User.objects.create_user("stranger", password="pw-123456")
    response = host_client(stranger).post(f"/api/games/{game.id}/lock/")
    assert response.status_code == 403
    assert response.json()["error"] == "not_host"
    assert Client().post(f"/api/games/{game.id}/lock/").json()["error"] == "not_host"
    game.refresh_from_db()
    assert not game.locked


def test_the_lock_answers_the_hosts_snapshot_with_the_room(game, author) -> None:
    response = host_client(author).post(f"/api/games/{game.id}/lock/")
    assert response.status_code == 200
    assert response.json()["room"]["locked"] is True


def test_locking_twice_or_unlocking_an_open_game_is_the_wrong_state(game, author) -> None:
    host = host_client(author)
    assert host.post(f"/api/games/{game.id}/unlock/").json()["error"] == "wrong_state"
    host.post(f"/api/games/{game.id}/lock/")
    second = host.post(f"/api/games/{game.id}/lock/")
    assert (second.status_code, second.json()["error"]) == (409, "wrong_state")


def test_a_finished_game_cannot_be_locked(game, author, refused) -> None:
    services.end_game(game_id=game.id, user=author)
    refused("wrong_state", game, lambda: services.lock_game(game_id=game.id, user=author))


def test_the_lock_is_told_to_the_hosts_screens_only(
    game, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.lock_game(game_id=game.id, user=author)
    destination, frame = no_broker[-1]
    assert destination == f"/topic/games.{game.id}.players"
    assert frame["type"] == "room"
    assert frame["data"]["room"]["locked"] is True


# The nickname policy

OFFENSIVE = ["Shit", "sh1thead", "FUUUCK", "f.u.c.k", "Вitch", "big ass", "Ａｓｓ"]
INNOCENT = ["Cassandra", "Dickens", "Canal", "Scott", "Assia", "Grape", "Essex", "Nazir", "bot2455"]


@pytest.mark.parametrize("nickname", OFFENSIVE)
def test_an_offensive_nickname_is_refused(game, refused, nickname: str) -> None:
    refused(
        "nickname_refused", game, lambda: services.join_game(game_id=game.id, nickname=nickname)
    )


@pytest.mark.parametrize("nickname", INNOCENT)
def test_a_name_that_holds_a_refused_word_by_chance_is_welcome(game, nickname: str) -> None:
    assert services.join_game(game_id=game.id, nickname=nickname).nickname == nickname


def test_the_host_adds_words_of_their_own(game, author, refused) -> None:
    services.set_room_options(game_id=game.id, user=author, blocked_words="Mr Smith\n=bob\n")
    refused(
        "nickname_refused", game, lambda: services.join_game(game_id=game.id, nickname="MrSm1th")
    )
    refused("nickname_refused", game, lambda: services.join_game(game_id=game.id, nickname="Bob"))
    assert services.join_game(game_id=game.id, nickname="Bobby").nickname == "Bobby"


def test_the_site_adds_words_of_its_own(game, settings, tmp_path, refused) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# our own\nkacke\n")
    settings.QUIZ_BLOCKED_NICKNAMES_FILE = str(words)
    refused("nickname_refused", game, lambda: services.join_game(game_id=game.id, nickname="Kacke"))


def test_the_join_form_says_why_a_nickname_is_refused(game) -> None:
    response = join_form(Client(), game, "shithead")
    assert response.status_code == 400
    assert b"That nickname is not allowed here" in response.content


@pytest.mark.parametrize(
    "nickname",
    [
        "Ann\u202eevil",  # right-to-left override: the rest of the line reads backwards
        "Bo\u2067b",  # right-to-left isolate
        "\ufdfd",  # one character wider than a word
        "Zal" + "\u0301\u0300\u0302\u0303" + "go",  # marks stacked on one letter
    ],
)
def test_a_nickname_that_would_take_over_the_screen_is_refused(game, refused, nickname) -> None:
    refused(
        "invalid_nickname", game, lambda: services.join_game(game_id=game.id, nickname=nickname)
    )


def test_two_marks_on_a_letter_are_a_name_not_a_flood(game) -> None:
    assert services.join_game(game_id=game.id, nickname="Nguyễn").nickname == "Nguyễn"


def test_room_options_are_the_hosts_alone(game, author) -> None:
    stranger = User.objects.create_user("stranger", password="pw-123456")
    response = host_client(stranger).post(
        f"/api/games/{game.id}/room/", {"blocked_words": ""}, content_type="application/json"
    )
    assert response.json()["error"] == "not_host"


def test_room_options_of_the_wrong_type_are_refused(game, author) -> None:
    response = host_client(author).post(
        f"/api/games/{game.id}/room/",
        {"generated_nicknames": "yes"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_input")
    game.refresh_from_db()
    assert not game.generated_nicknames


# Generated nicknames


def test_with_generated_nicknames_a_player_gets_a_friendly_name_not_the_typed_one(
    game, author
) -> None:
    host_client(author).post(
        f"/api/games/{game.id}/room/",
        {"generated_nicknames": True},
        content_type="application/json",
    )
    player = services.join_game(game_id=game.id, nickname="whatever I like")
    adjective, animal = player.nickname.split(" ")[:2]
    assert (adjective, animal) in {(a, b) for a in nicknames.ADJECTIVES for b in nicknames.ANIMALS}


def test_generated_nicknames_are_never_twice_in_a_game(game, author) -> None:
    services.set_room_options(game_id=game.id, user=author, generated_nicknames=True)
    names = [services.join_game(game_id=game.id, nickname="").nickname for _ in range(60)]
    assert len(set(names)) == 60
    assert all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+( \d\d)?", name) for name in names)


def test_every_generated_nickname_is_allowed_and_fits() -> None:
    for adjective in nicknames.ADJECTIVES:
        for animal in nicknames.ANIMALS:
            name = f"{adjective} {animal} 99"
            assert len(name) <= services.NICKNAME_MAX
            assert not nicknames.blocked_word(name)


# Latecomers


@pytest.fixture
def running(open_question) -> Game:
    game, _players = open_question
    return game


def test_a_latecomer_waits_for_the_next_question_by_default(running, author) -> None:
    late = services.join_game(game_id=running.id, nickname="Late")
    assert late.waiting
    with pytest.raises(services.GameError) as refusal:
        answer(running, late)
    assert refusal.value.code == "waiting"


def test_a_waiting_latecomer_does_not_hold_the_question_open(running, author) -> None:
    ann, bo = running.players.all()
    services.join_game(game_id=running.id, nickname="Late")
    answer(running, ann)
    answer(running, bo)
    assert services.close_question_if_due(game_id=running.id, now=running.opened_at)
    running.refresh_from_db()
    assert running.state == Game.State.QUESTION_CLOSED


def test_a_waiting_latecomer_plays_the_next_question(running, author) -> None:
    late = services.join_game(game_id=running.id, nickname="Late")
    services.close_question(game_id=running.id, user=author)
    services.open_next_question(game_id=running.id, user=author, now=T0)
    running.refresh_from_db()
    assert answer(running, late).player_id == late.id


def test_a_latecomers_page_is_told_it_waits(running) -> None:
    browser = Client()
    join_form(browser, running, "Late")
    me = browser.get(f"/api/games/{running.id}/snapshot/").json()["me"]
    assert me["waiting"] is True


def test_with_latecomers_joining_at_once_they_answer_the_open_question(running, author) -> None:
    services.set_room_options(game_id=running.id, user=author, latecomers_wait=False)
    late = services.join_game(game_id=running.id, nickname="Late")
    assert not late.waiting
    assert answer(running, late).player_id == late.id


def test_the_hosts_answer_count_leaves_a_waiting_latecomer_out(
    running, no_broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.join_game(game_id=running.id, nickname="Late")
    joined = no_broker[-1][1]
    assert joined["type"] == "player_joined"
    assert (joined["data"]["count"], joined["data"]["answering"]) == (3, 2)


# Removing many players at once, at any time


def test_the_host_removes_many_players_in_one_request(game, author, no_broker) -> None:
    bots = [services.join_game(game_id=game.id, nickname=f"bot{n}") for n in range(30)]
    ann = services.join_game(game_id=game.id, nickname="Ann")
    response = host_client(author).post(
        f"/api/games/{game.id}/kick/",
        {"player_ids": [bot.id for bot in bots]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["players"]] == [ann.id]


def test_each_of_many_removed_is_cut_off_the_broker(
    game, author, django_capture_on_commit_callbacks
) -> None:
    bots = [services.join_game(game_id=game.id, nickname=f"bot{n}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.kick_players(game_id=game.id, player_ids=[b.id for b in bots], user=author)
    cut = [cut_off["login"] for cut_off in live.get_backend().cut_offs]
    assert cut == [f"player:{b.id}" for b in bots]


def test_many_removed_are_one_frame_that_names_each(
    game, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    bots = [services.join_game(game_id=game.id, nickname=f"bot{n}") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.kick_players(game_id=game.id, player_ids=[b.id for b in bots], user=author)
    destination, frame = no_broker[-1]
    assert destination == f"/topic/games.{game.id}.status"
    assert frame["type"] == "players_kicked"
    assert [p["id"] for p in frame["data"]["players"]] == [b.id for b in bots]
    assert frame["data"]["count"] == 0


def test_removing_many_with_one_not_in_the_game_removes_none(game, author, refused) -> None:
    ann = services.join_game(game_id=game.id, nickname="Ann")
    refused(
        "unknown_player",
        game,
        lambda: services.kick_players(game_id=game.id, player_ids=[ann.id, 999_999], user=author),
    )
    assert game.players.active().count() == 1


def test_removing_many_is_the_hosts_alone(game) -> None:
    ann = services.join_game(game_id=game.id, nickname="Ann")
    response = Client().post(
        f"/api/games/{game.id}/kick/", {"player_ids": [ann.id]}, content_type="application/json"
    )
    assert response.json()["error"] == "not_host"


@pytest.mark.parametrize("body", [{}, {"player_ids": []}, {"player_ids": ["7"]}])
def test_removing_many_without_a_list_of_ids_is_refused(game, author, body) -> None:
    response = host_client(author).post(
        f"/api/games/{game.id}/kick/", body, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_input")


def test_a_player_is_removed_from_the_results(running, author) -> None:
    ann, _bo = running.players.all()
    services.close_question(game_id=running.id, user=author)
    services.kick_player(game_id=running.id, player_id=ann.id, user=author)
    ranked = [
        p["nickname"]
        for p in host_client(author).get(f"/api/games/{running.id}/snapshot/").json()["players"]
    ]
    assert ranked == ["Bo"]


def test_removing_the_last_who_had_not_answered_closes_the_question(running, author) -> None:
    ann, bo = running.players.all()
    answer(running, ann)
    services.kick_players(game_id=running.id, player_ids=[bo.id], user=author)
    running.refresh_from_db()
    assert running.state == Game.State.QUESTION_CLOSED


# Play again keeps the room


@pytest.fixture
def finished(game, author) -> Game:
    for nickname in ("Ann", "Bo", "Troll"):
        services.join_game(game_id=game.id, nickname=nickname)
    troll = game.players.get(nickname="Troll")
    services.kick_player(game_id=game.id, player_id=troll.id, user=author)
    services.end_game(game_id=game.id, user=author)
    game.refresh_from_db()
    return game


def test_play_again_tells_the_old_games_phones_where_to_go(
    finished, author, no_broker, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        following = services.play_again(game_id=finished.id, user=author)
    destination, frame = no_broker[-1]
    assert destination == f"/topic/games.{finished.id}.status"
    assert (frame["type"], frame["data"]) == ("next_game", {"game_id": following.id})
    assert following.state == Game.State.LOBBY and following.pin != ""


def test_play_again_twice_is_the_same_next_game(finished, author) -> None:
    first = services.play_again(game_id=finished.id, user=author)
    assert services.play_again(game_id=finished.id, user=author) == first


def test_play_again_before_the_end_is_the_wrong_state(game, author, refused) -> None:
    refused("wrong_state", game, lambda: services.play_again(game_id=game.id, user=author))


def test_play_again_keeps_the_rooms_options(finished, author) -> None:
    Game.objects.filter(pk=finished.pk).update(
        locked=True, latecomers_wait=False, blocked_words="bob"
    )
    following = services.play_again(game_id=finished.id, user=author)
    assert (following.locked, following.latecomers_wait, following.blocked_words) == (
        True,
        False,
        "bob",
    )


def test_a_player_follows_with_their_nickname_even_into_a_locked_room(finished, author) -> None:
    Game.objects.filter(pk=finished.pk).update(locked=True)
    following = services.play_again(game_id=finished.id, user=author)
    ann = finished.players.get(nickname="Ann")
    followed = services.follow_to_next_game(game_id=finished.id, player_id=ann.id)
    assert (followed.game_id, followed.nickname) == (following.id, "Ann")


def test_a_kicked_player_does_not_follow_nor_join_the_next_game(finished, author) -> None:
    following = services.play_again(game_id=finished.id, user=author)
    troll = finished.players.get(nickname="Troll")
    with pytest.raises(services.GameError) as refusal:
        services.follow_to_next_game(game_id=finished.id, player_id=troll.id)
    assert refusal.value.code == "kicked"
    with pytest.raises(services.GameError) as again:
        services.join_game(game_id=following.id, nickname="Troll")
    assert again.value.code == "kicked"


def test_following_before_play_again_is_refused(finished) -> None:
    ann = finished.players.get(nickname="Ann")
    with pytest.raises(services.GameError) as refusal:
        services.follow_to_next_game(game_id=finished.id, player_id=ann.id)
    assert refusal.value.code == "no_next_game"


def test_a_phone_follows_over_http_and_plays_the_next_game(game, author) -> None:
    phone = Client()
    join_form(phone, game, "Ann")
    services.end_game(game_id=game.id, user=author)
    following = services.play_again(game_id=game.id, user=author)
    response = phone.post(f"/api/games/{game.id}/follow/")
    assert response.json() == {"game_id": following.id, "play_url": f"/play/{following.id}/"}
    assert phone.get(f"/play/{following.id}/").status_code == 200
    again = phone.post(f"/api/games/{game.id}/follow/")
    assert again.json()["game_id"] == following.id
    assert following.players.filter(nickname="Ann").count() == 1


def test_the_play_again_button_opens_the_next_games_host_screen(finished, author) -> None:
    response = host_client(author).post(f"/games/{finished.id}/play-again/")
    following = Game.objects.get(previous_game=finished)
    assert response.status_code == 302
    assert response["Location"] == f"/games/{following.id}/host/"


def test_a_finished_games_snapshot_names_its_next_game(finished, author) -> None:
    following = services.play_again(game_id=finished.id, user=author)
    snapshot = host_client(author).get(f"/api/games/{finished.id}/snapshot/").json()
    assert snapshot["next_game"] == {"id": following.id}
