"""HTTP: JSON errors, 403s for non-hosts, sessions that remember the player."""

import json
import re

import jwt
import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from broker.config import Permissions
from broker.tokens import verify_token
from quiz.game import services
from quiz.game.models import Game


def test_join_form_remembers_player_and_play_page_comes_back(client: Client, game: Game) -> None:
    response = client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert response.status_code == 200
    snapshot = client.get(f"/api/games/{game.id}/snapshot/").json()
    assert snapshot["me"]["nickname"] == "Ann"


def test_a_join_answers_with_the_play_page_holding_the_players_snapshot(
    client: Client, game: Game
) -> None:
    config = game_config(client.post("/join/", {"pin": game.pin, "nickname": "Ann"}))
    snapshot = config["snapshot"]
    assert (config["role"], snapshot["version"], snapshot["game"]["state"], snapshot["me"]) == (
        "player",
        game.version,
        "lobby",
        {**snapshot["me"], "id": config["player_id"], "nickname": "Ann", "answered": False},
    )


def test_a_join_answers_with_the_first_broker_token_of_its_player(
    client: Client, game: Game, settings
) -> None:
    config = game_config(client.post("/join/", {"pin": game.pin, "nickname": "Ann"}))
    grant = verify_token(config["token"]["token"], secret=settings.STOMP_TOKEN_SECRET)
    assert grant.subject == f"player:{config['player_id']}"


def test_the_page_a_join_answers_with_names_the_play_pages_address(
    client: Client, game: Game
) -> None:
    """The page takes that address, so that a reload asks for the play page, not to join."""
    config = game_config(client.post("/join/", {"pin": game.pin, "nickname": "Ann"}))
    assert config["urls"]["play"] == f"/play/{game.id}/"


def test_joining_during_a_question_the_snapshot_holds_it(
    client: Client, game: Game, author
) -> None:
    services.join_game(game_id=game.id, nickname="Bo")
    services.start_game(game_id=game.id, user=author)
    snapshot = game_config(client.post("/join/", {"pin": game.pin, "nickname": "Ann"}))["snapshot"]
    game.refresh_from_db()
    assert (snapshot["version"], snapshot["question"]["id"], snapshot["me"]["answered"]) == (
        game.version,
        game.current_question_id,
        False,
    )


def test_the_play_page_holds_the_players_snapshot_too(client: Client, game: Game) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    snapshot = page_config(client, f"/play/{game.id}/")["snapshot"]
    assert (snapshot["version"], snapshot["me"]["nickname"]) == (game.version, "Ann")


def test_the_join_form_reads_nothing_from_the_database(client: Client, game: Game) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/?pin={game.pin}").status_code == 200
    assert [query["sql"] for query in queries] == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_a_join_reads_the_room_through_indexes_never_row_by_row(client: Client, game: Game) -> None:
    """A hall of 2,000 joins within seconds: a join that read every player of its room (the
    counts, the top of the ranking) would cost more with each player that came before it."""
    for name in ("Ann", "Bo", "Cy"):
        services.join_game(game_id=game.id, nickname=name)
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/join/", {"pin": game.pin, "nickname": "Di"}).status_code == 200
    every_row = re.compile(r"SCAN game_player\b|USING INDEX game_player_game_id\w* \(game_id=\?\)")
    reads = []
    with connection.cursor() as cursor:
        for query in queries:
            if "game_player" not in query["sql"] or not query["sql"].startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            reads += [row[-1] for row in cursor.fetchall() if every_row.search(row[-1])]
    assert reads == []


def test_join_form_shows_wrong_pin(client: Client, game: Game) -> None:
    response = client.post("/join/", {"pin": "x", "nickname": "Ann"})
    assert response.status_code == 404
    assert b"No game with that PIN" in response.content


@pytest.mark.parametrize("action", ["start", "next", "close", "end"])
def test_host_actions_by_a_player_are_403_json(client: Client, game: Game, action: str) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    response = client.post(f"/api/games/{game.id}/{action}/", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "not_host"


def test_snapshot_for_a_stranger_is_403(client: Client, game: Game) -> None:
    assert client.get(f"/api/games/{game.id}/snapshot/").json()["error"] == "not_player"


def test_host_plays_through_api(client: Client, game: Game, author) -> None:
    player = Client()
    player.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    client.force_login(author)
    snap = client.post(f"/api/games/{game.id}/start/").json()
    question = snap["question"]
    assert snap["game"]["state"] == "question_open"
    response = player.post(
        f"/api/games/{game.id}/answer/",
        content_type="application/json",
        data={
            "question_id": question["id"],
            "reaction_ms": 1200,
            "choice_ids": [question["choices"][0]["id"]],
        },
    )
    assert response.json() == {
        "answered": True,
        "question_id": question["id"],
        "response_ms": response.json()["response_ms"],
    }
    services.report_answers(game_id=game.id)
    assert player.get(f"/api/games/{game.id}/snapshot/").json()["game"]["state"] == (
        "question_closed"
    )
    again = player.post(
        f"/api/games/{game.id}/answer/",
        content_type="application/json",
        data={"question_id": question["id"], "choice_ids": [question["choices"][0]["id"]]},
    )
    assert again.status_code == 409
    csv = client.get(f"/games/{game.id}/results.csv").content.decode()
    assert csv.splitlines()[1].startswith("1,Ann,")


def test_token_is_refused_to_strangers(client: Client, game: Game) -> None:
    response = client.get(f"/api/games/{game.id}/token/")
    assert response.status_code == 403
    assert response.json()["error"] == "not_player"


def test_players_token_reads_its_games_topics_and_replies_and_writes_only_its_answers(
    client: Client, game: Game, settings
) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    player_id = game.players.get().id
    token = client.get(f"/api/games/{game.id}/token/").json()["token"]
    grant = verify_token(token, secret=settings.STOMP_TOKEN_SECRET)
    assert grant.permissions == Permissions(
        read=(f"/topic/games.{game.id}.*", f"/topic/replies.{game.id}.{player_id}"),
        write=(f"/topic/answers.{game.id}.{player_id}",),
        announce=(f"/topic/games.{game.id}.status",) if settings.STOMP_PRESENCE else (),
    )


def test_without_answers_over_the_broker_a_players_token_writes_nowhere(
    client: Client, game: Game, settings
) -> None:
    settings.STOMP_ANSWERS = False
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    config = page_config(client, f"/play/{game.id}/")
    assert (config["answer_topic"], config["replies"]) == (None, None)
    grant = verify_token(config["token"]["token"], secret=settings.STOMP_TOKEN_SECRET)
    assert (grant.permissions.read, grant.permissions.write) == ((f"/topic/games.{game.id}.*",), ())


def page_config(client: Client, url: str) -> dict:
    """The game_config the page at `url` is rendered with."""
    return game_config(client.get(url))


def game_config(response: HttpResponse) -> dict:
    """The game_config a page is rendered with (its json_script)."""
    page = response.content.decode()
    found = re.search(r'<script id="game-config" type="application/json">(.*?)</script>', page)
    assert found, page[:500]
    return json.loads(found.group(1))


def test_with_presence_players_announce_themselves_and_the_host_watches(
    client: Client, game: Game, author, settings
) -> None:
    settings.STOMP_PRESENCE = True
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    status = f"/topic/games.{game.id}.status"
    assert page_config(client, f"/play/{game.id}/")["presence"] == {"announce": status}
    player = verify_token(
        client.get(f"/api/games/{game.id}/token/").json()["token"],
        secret=settings.STOMP_TOKEN_SECRET,
    )
    assert (player.permissions.announce, player.permissions.watch) == ((status,), ())
    host = Client()
    host.force_login(author)
    presence = f"/presence/games.{game.id}.status"
    assert page_config(host, f"/games/{game.id}/host/")["presence"] == {"watch": presence}
    grant = verify_token(
        host.get(f"/api/games/{game.id}/token/").json()["token"],
        secret=settings.STOMP_TOKEN_SECRET,
    )
    assert (grant.permissions.announce, grant.permissions.watch) == ((), (status,))


def test_without_presence_the_host_screen_gets_none_to_show(
    client: Client, game: Game, author, settings
) -> None:
    """RabbitMQ (STOMP_PRESENCE off): no presence in the pages' config, so the host screen
    marks no one connected or offline, and no presence claim in the tokens."""
    settings.STOMP_PRESENCE = False
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert page_config(client, f"/play/{game.id}/")["presence"] is None
    host = Client()
    host.force_login(author)
    assert page_config(host, f"/games/{game.id}/host/")["presence"] is None
    token = host.get(f"/api/games/{game.id}/token/").json()["token"]
    assert "presence" not in jwt.decode(token, options={"verify_signature": False})


def test_a_players_page_is_offered_the_http_fallback_beside_the_websocket(
    client: Client, game: Game, author, settings
) -> None:
    """Ours (STOMP_HTTP_FALLBACK on): a player's page gets the broker's /sse beside /ws; the
    host's does not (its players topic keeps no history)."""
    settings.STOMP_HTTP_FALLBACK = True
    settings.STOMP_WS_URL = "wss://broker.example.org:15674/ws"
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    fallback = page_config(client, f"/play/{game.id}/")["fallback_url"]
    assert fallback == "https://broker.example.org:15674/sse"
    host = Client()
    host.force_login(author)
    assert page_config(host, f"/games/{game.id}/host/")["fallback_url"] is None


def test_without_the_http_fallback_no_page_is_offered_it(
    client: Client, game: Game, settings
) -> None:
    """RabbitMQ (STOMP_HTTP_FALLBACK off): it has no HTTP subscribers to fall back to."""
    settings.STOMP_HTTP_FALLBACK = False
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert page_config(client, f"/play/{game.id}/")["fallback_url"] is None


def test_players_token_carries_rabbitmqs_subscription_queue_scopes_aside(
    client: Client, game: Game
) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    token = client.get(f"/api/games/{game.id}/token/").json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    player = game.players.get()
    assert claims["extra_scope"] == [
        f"broker.configure:*/stomp-subscription-player-{player.id}-*",
        f"broker.write:*/stomp-subscription-player-{player.id}-*",
        f"broker.read:*/stomp-subscription-player-{player.id}-*",
    ]


def test_leave_forgets_the_player_in_this_browser(client: Client, game: Game) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    response = client.post(f"/api/games/{game.id}/leave/", content_type="application/json")
    assert response.status_code == 200 and response.json()["left"] is True
    again = client.post(f"/api/games/{game.id}/leave/", content_type="application/json")
    assert (again.status_code, again.json()["error"]) == (403, "not_player")


def test_pages_send_browsers_to_the_broker_on_the_host_they_came_from(
    client: Client, game: Game, settings
) -> None:
    settings.STOMP_WS_URL = ""
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"}, HTTP_HOST="192.168.1.20:8000")
    page = client.get(f"/play/{game.id}/", HTTP_HOST="192.168.1.20:8000").content.decode()
    assert '"ws_url": "ws://192.168.1.20:15674/ws"' in page


@pytest.mark.parametrize(
    "body",
    [
        {"question_id": 1, "choice_ids": [1], "reaction_ms": -5},
        {"question_id": 1, "choice_ids": [1], "reaction_ms": "fast"},
        {"question_id": 1, "choice_ids": [1], "reaction_ms": True},
        {"question_id": True, "choice_ids": [1]},
    ],
)
def test_malformed_answers_are_400_invalid_input(client: Client, game: Game, body) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    response = client.post(
        f"/api/games/{game.id}/answer/", content_type="application/json", data=body
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_input")


def test_a_players_snapshot_names_the_top_players_and_its_own_line(client: Client, game: Game):
    for index in range(7):
        Client().post("/join/", {"pin": game.pin, "nickname": f"P{index}"})
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    snapshot = client.get(f"/api/games/{game.id}/snapshot/").json()
    assert (
        len(snapshot["players"]),
        snapshot["game"]["player_count"],
        snapshot["me"]["nickname"],
        snapshot["me"]["rank"],
    ) == (5, 8, "Ann", 1)


@pytest.mark.parametrize("nickname", ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(1+1)*cmd|' /C"])
def test_results_csv_neutralises_spreadsheet_formulas(
    client: Client, game: Game, author, nickname: str
) -> None:
    import csv

    Client().post("/join/", {"pin": game.pin, "nickname": "x"})  # a line before, unchanged
    services.join_game(game_id=game.id, nickname=nickname)
    client.force_login(author)
    rows = list(
        csv.reader(client.get(f"/games/{game.id}/results.csv").content.decode().splitlines())
    )
    nicknames = {row[1] for row in rows[1:]}
    assert nicknames == {"x", "'" + nickname}


@pytest.mark.parametrize(
    "cell, safe",
    [
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        (-5, -5),
    ],
)
def test_spreadsheet_safe_follows_owasp(cell: object, safe: object) -> None:
    from quiz.game.selectors import spreadsheet_safe

    assert spreadsheet_safe(cell) == safe


@pytest.mark.real_publisher
def test_host_action_replies_say_when_frames_cannot_reach_the_broker(
    client: Client, game: Game, author, settings
) -> None:
    import socket

    from quiz import live

    # a port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.STOMP_HOST, settings.STOMP_PORT = sock.getsockname()
    live.get_backend().close()
    client.force_login(author)
    assert client.post(f"/api/games/{game.id}/start/").json()["broker"] == "down"
    assert client.get(f"/api/games/{game.id}/snapshot/").json()["broker"] == "down"


def test_player_snapshots_do_not_ask_about_the_broker(client: Client, game: Game) -> None:
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"})
    assert "broker" not in client.get(f"/api/games/{game.id}/snapshot/").json()


def test_favicon_ico_leads_to_the_sites_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/favicon.svg")


def test_pages_name_the_sites_icon(client: Client) -> None:
    icon = b'<link rel="icon" href="/static/favicon.svg"'
    assert icon in b"".join(client.get("/").streaming_content)  # the static join form
    assert icon in client.get("/join/").content


@pytest.mark.parametrize("action", ["start", "close", "next", "end"])
def test_a_host_action_reads_who_asks_before_it_locks_the_game(
    client: Client, game: Game, author, action: str
) -> None:
    """The session and the user are read before the game's write transaction, which on
    SQLite holds the one writer's turn that every other game's host and players wait for."""
    client.force_login(author)
    for before in {"start": [], "close": ["start"], "next": ["start", "close"], "end": []}[action]:
        client.post(f"/api/games/{game.id}/{before}/")
    with CaptureQueriesContext(connection) as queries:
        assert client.post(f"/api/games/{game.id}/{action}/").status_code == 200
    tables = [re.findall(r'FROM "(\w+)"', query["sql"]) for query in queries]
    first_game_read = next(i for i, names in enumerate(tables) if "game_game" in names)
    who_asks = [i for i, names in enumerate(tables) if {"django_session", "auth_user"} & {*names}]
    assert who_asks and max(who_asks) < first_game_read
