"""Thin views: HTTP in, a service call, JSON or a page out."""

import csv
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.decorators import login_required
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RequestDataTooBig
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from quiz import live
from quiz.game import selectors, services, throttle
from quiz.game.models import Game, Player
from quiz.game.services import GameError
from quiz.live import pages, tokens

logger = logging.getLogger(__name__)

# What the host (and a player) is told while the database refuses writes (a full or failing
# disk, a database that is down or locked for too long): not "the server failed", which says
# neither what is wrong nor that the game waits for it.
CANNOT_WRITE = (
    "The site cannot save to its database right now (is its disk full or failing?). The game "
    "waits where it is, and goes on as soon as saving works: a question whose time is up "
    "closes by itself then."
)

PLAYERS_COOKIE = "quiz_players"
# The newest games a browser joined that its cookie remembers: enough for any one event.
PLAYERS_REMEMBERED = 20


def _players(request: HttpRequest) -> dict[str, int]:
    """The players this browser joined as, by game. A signed cookie rather than the session:
    a join then writes no session row, and no request of a player reads one."""
    value = request.get_signed_cookie(
        PLAYERS_COOKIE, default=None, salt=PLAYERS_COOKIE, max_age=settings.SESSION_COOKIE_AGE
    )
    return json.loads(value) if value else {}


def _set_players(request: HttpRequest, response: HttpResponse, players: dict[str, int]) -> None:
    newest = dict(list(players.items())[-PLAYERS_REMEMBERED:])
    response.set_signed_cookie(
        PLAYERS_COOKIE,
        json.dumps(newest, separators=(",", ":")),
        salt=PLAYERS_COOKIE,
        max_age=settings.SESSION_COOKIE_AGE,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def session_player_id(request: HttpRequest, game_id: int) -> int | None:
    return _players(request).get(str(game_id))


def remember_player(request: HttpRequest, response: HttpResponse, player: Player) -> None:
    players = _players(request)
    players.pop(str(player.game_id), None)
    _set_players(request, response, {**players, str(player.game_id): player.id})


def forget_player(request: HttpRequest, response: HttpResponse, game_id: int) -> None:
    players = _players(request)
    players.pop(str(game_id), None)
    _set_players(request, response, players)


def refuse_kicked_browser(request: HttpRequest, game_id: int) -> None:
    """A browser whose player was kicked stays out of that game under any nickname: the
    cookie remembers its player after a kick (only leaving forgets it)."""
    player_id = session_player_id(request, game_id)
    if player_id and Player.objects.filter(pk=player_id, game_id=game_id, kicked=True).exists():
        raise GameError("kicked", services.KICKED, 403)


def error_response(error: GameError) -> JsonResponse:
    return JsonResponse({"error": error.code, "detail": error.detail}, status=error.status)


def json_api(view: Callable[..., Any]) -> Callable[..., JsonResponse]:
    """Turn a GameError, or a database that cannot write, into the contract's JSON error."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            return view(request, *args, **kwargs)
        except GameError as error:
            return error_response(error)
        except OperationalError:
            logger.exception("The database refused %s %s", request.method, request.path)
            return error_response(GameError("cannot_write", CANNOT_WRITE, 503))

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object. A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused on
    reading it (RequestDataTooBig: api_bad_request answers 413)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise GameError("invalid_json", "The request body is not JSON.", 400) from None
    if not isinstance(data, dict):
        raise GameError("invalid_json", "The request body must be a JSON object.", 400)
    try:
        # JSON may escape half of a UTF-16 pair ("\ud800"), which no database can store
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        detail = "The request body has text that is not Unicode."
        raise GameError("invalid_json", detail, 400) from None
    return data


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def api_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: for the API, a JSON error (a body too large for the site among them, which
    Django refuses before any view reads it); for pages, Django's own."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is larger than {limit} bytes."
        return error_response(GameError("too_large", detail, 413))
    return error_response(GameError("bad_request", "The request is malformed.", 400))


def api_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: for the API, a JSON error (an id too big for any row among them: the URLs
    take ids of at most 18 digits); for pages, Django's own."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return error_response(
        GameError("not_found", "Nothing in the API answers at this address.", 404)
    )


def api_server_error(request: HttpRequest) -> HttpResponse:
    """handler500: for the API, a JSON error the pages can show; for pages, Django's own."""
    if not _is_api(request):
        return defaults.server_error(request)
    return error_response(GameError("server_error", "The server failed; try again.", 500))


def api_csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: for the API, a JSON error (a page open so long that its token is
    stale, say); for pages, Django's own."""
    if not _is_api(request):
        return csrf.csrf_failure(request, reason)
    detail = "The request did not come from this site's page (CSRF); reload the page."
    return error_response(GameError("csrf_failed", detail, 403))


def _viewer(request: HttpRequest, game: Game) -> Player | None:
    """The host (None) or the session's player; anyone else is refused."""
    if request.user.is_authenticated and request.user.pk == game.host_id:
        return None
    return services.get_player(game_id=game.id, player_id=session_player_id(request, game.id))


def _game(game_id: int) -> Game:
    game = Game.objects.select_related("quiz", "current_question").filter(pk=game_id).first()
    if game is None:
        raise GameError("unknown_game", "There is no such game.", 404)
    return game


def _for_host(snapshot: dict[str, Any]) -> JsonResponse:
    """The host's snapshot, with whether the players' screens can be sent frames."""
    return JsonResponse({**snapshot, "broker": live.broker_status()})


def _host_snapshot(game_id: int) -> JsonResponse:
    return _for_host(selectors.snapshot(game=_game(game_id)))


TOO_MANY_TRIES = "Too many tries from this device. Wait a minute, then try again."
# The join form every phone opens: public/index.html, served as it is (settings.WHITENOISE_ROOT).
JOIN_PAGE = "/"
POSTED_ELSEWHERE = GameError(
    "cross_site", "This form was sent from another site's page: join from this site's own.", 403
)


def posted_from_elsewhere(request: HttpRequest) -> bool:
    """Whether a browser says it posted this from another site's page. The join form is a
    static page with no CSRF token in it, so the join checks where it was posted from, as
    Django's CSRF check does first: browsers name the page's origin on every POST, and no
    page can make them name another. A client that names none is no browser a page drives."""
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin != f"{request.scheme}://{request.get_host()}" and (
        origin not in settings.CSRF_TRUSTED_ORIGINS
    )


@csrf_exempt
def join(request: HttpRequest) -> HttpResponse:
    """Joins a game from the form at the site's root (JOIN_PAGE) or the same form here: PIN +
    nickname; errors stay on the form. Its answers give the browser the id its wrong PINs are
    counted by (throttle.identify_client). A join answers with the player's page itself, its
    snapshot and first broker token in it: the phone asks the site nothing more before the
    first question."""
    context: dict[str, Any] = {
        "pin": request.GET.get("pin", ""),
        "nickname": "",
        "nickname_max": services.NICKNAME_MAX,
        "error": None,
    }
    if request.user.is_authenticated:
        context["nickname"] = request.user.get_username()[: services.NICKNAME_MAX]
    if request.method == "POST":
        context["pin"] = request.POST.get("pin", "").strip()
        context["nickname"] = request.POST.get("nickname", "")
        try:
            if posted_from_elsewhere(request):
                raise POSTED_ELSEWHERE
            if (
                throttle.exceeded(throttle.pin_guesses(), request)
                or selectors.recent_joins(address=throttle.client_address(request))
                >= settings.QUIZ_JOINS_PER_MINUTE
            ):
                raise GameError("too_many_tries", TOO_MANY_TRIES, 429)
            try:
                game_id = services.live_game_id(pin=context["pin"])
            except GameError:
                throttle.hit(throttle.pin_guesses(), request)
                raise
            refuse_kicked_browser(request, game_id)
            player = services.join_game(
                game_id=game_id,
                nickname=context["nickname"],
                user=request.user,
                address=throttle.client_address(request),
            )
        except GameError as error:
            context["error"] = error.detail
            response = render(request, "game/join.html", context, status=error.status)
        else:
            response = _player_page(request, player.game, player)
            remember_player(request, response, player)
    else:
        response = render(request, "game/join.html", context)
    throttle.identify_client(request, response)
    return response


def _game_config(
    request: HttpRequest, game: Game, role: str, player: Player | None
) -> dict[str, Any]:
    def api(name: str) -> str:
        return reverse(f"api_{name}", args=[game.id])

    join_url = request.build_absolute_uri(JOIN_PAGE) + f"?pin={game.pin}"
    urls = {"snapshot": api("snapshot"), "token": api("token")}
    config: dict[str, Any] = {
        "game_id": game.id,
        "role": role,
        "player_id": player.id if player else None,
        "nickname": player.nickname if player else None,
        "pin": game.pin,
        "join_url": join_url,
        **pages.page_config(request, game=game, role=role, player=player),
        "csrf_token": get_token(request),
        "urls": urls,
    }
    if role == "host":
        config["qr_svg"] = segno.make(join_url).svg_inline(scale=6)
        urls.update(
            {
                action: api(action)
                for action in (
                    "start",
                    "next",
                    "close",
                    "end",
                    "lock",
                    "unlock",
                    "room",
                    "kick_many",
                )
            }
        )
        # the page fills in the player: a URL pattern cannot be reversed with a placeholder
        urls["kick"] = reverse("api_kick", args=[game.id, 0]).replace("/0/", "/{player_id}/")
        urls["results_csv"] = reverse("results_csv", args=[game.id])
    else:
        urls.update({action: api(action) for action in ("answer", "leave", "follow")})
        urls["play"] = reverse("play", args=[game.id])
    return config


@login_required
def host(request: HttpRequest, game_id: int) -> HttpResponse:
    game = get_object_or_404(Game, pk=game_id)
    if request.user.pk != game.host_id:
        return HttpResponse("Only the host of this game can open this page.", status=403)
    return render(
        request,
        "game/host.html",
        {"game": game, "game_config": _game_config(request, game, "host", None)},
    )


# The play page's answer to a browser that never joined the game, whether or not the game
# exists: game ids are sequential, so telling the two apart would list the live games.
NOT_JOINED = GameError("not_joined", "You are not in this game. Join it with its PIN.", 404)


def play(request: HttpRequest, game_id: int) -> HttpResponse:
    """A player's page. Anyone else gets the join form with no PIN in it: the PIN is all that
    keeps a game to those its host shows it to."""
    hosted = Game.objects.filter(pk=game_id, host_id=request.user.pk)
    if request.user.is_authenticated and hosted.exists():
        return redirect("host", game_id=game_id)
    try:
        player = services.get_player(game_id=game_id, player_id=session_player_id(request, game_id))
    except GameError as error:
        refusal = NOT_JOINED if error.code == "not_player" else error
        return render(
            request,
            "game/join.html",
            {
                "pin": "",
                "nickname": "",
                "nickname_max": services.NICKNAME_MAX,
                "error": refusal.detail,
            },
            status=refusal.status,
        )
    return _player_page(request, _game(player.game_id), player)


def _player_page(request: HttpRequest, game: Game, player: Player) -> HttpResponse:
    """The player's screen with the game as of now in it (its snapshot, docs/game.md): the
    page follows the game from there without asking the site for it."""
    config = _game_config(request, game, "player", player)
    config["snapshot"] = selectors.snapshot(game=game, player=player)
    return render(request, "game/play.html", {"game": game, "game_config": config})


@require_GET
@json_api
def snapshot(request: HttpRequest, game_id: int) -> JsonResponse:
    game = _game(game_id)
    player = _viewer(request, game)
    if services.close_question_if_overdue(game=game):
        game = _game(game_id)
    data = selectors.snapshot(game=game, player=player)
    return _for_host(data) if player is None else JsonResponse(data)


@require_GET
@json_api
def token(request: HttpRequest, game_id: int) -> JsonResponse:
    game = _game(game_id)
    player = _viewer(request, game)
    return JsonResponse(tokens.browser_token(game=game, player=player, host_id=request.user.pk))


@require_POST
@json_api
def answer(request: HttpRequest, game_id: int) -> JsonResponse:
    """A small acknowledgement, not a snapshot: the results come with the question's close."""
    arrived = timezone.now()
    answer = services.submit_answer(
        answer=services.answer_from_json(
            data=_body(request),
            game_id=game_id,
            player_id=session_player_id(request, game_id),
            arrived=arrived,
        )
    )
    return JsonResponse(
        {"answered": True, "question_id": answer.question_id, "response_ms": answer.response_ms}
    )


def _host_action(action: Callable[..., Any]) -> Callable[..., JsonResponse]:
    @require_POST
    @json_api
    def view(request: HttpRequest, game_id: int) -> JsonResponse:
        # who asks, read before the action's write transaction: on SQLite that transaction
        # holds the one writer's turn, which every other game's host and players wait for
        action(game_id=game_id, user=get_user(request))
        return _host_snapshot(game_id)

    return view


start = _host_action(services.start_game)
next_question = _host_action(services.open_next_question)
close = _host_action(services.close_question)
end = _host_action(services.end_game)
lock = _host_action(services.lock_game)
unlock = _host_action(services.unlock_game)


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    """`data[key]` if it is a `kind`, None if absent; anything else is refused."""
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise GameError("invalid_input", f"{key} is a {kind.__name__}.", 400)
    return value


@require_POST
@json_api
def room(request: HttpRequest, game_id: int) -> JsonResponse:
    """Body (JSON, each optional): {"latecomers_wait": bool, "generated_nicknames": bool,
    "blocked_words": "one\nword a line"}."""
    data = _body(request)
    services.set_room_options(
        game_id=game_id,
        user=get_user(request),
        latecomers_wait=_optional(data, "latecomers_wait", bool),
        generated_nicknames=_optional(data, "generated_nicknames", bool),
        blocked_words=_optional(data, "blocked_words", str),
    )
    return _host_snapshot(game_id)


@require_POST
@json_api
def kick(request: HttpRequest, game_id: int, player_id: int) -> JsonResponse:
    """Body (optional, JSON): {"ban_address": true} to bar the player's address from the game
    too."""
    data = _body(request) if request.content_type == "application/json" else {}
    services.kick_player(
        game_id=game_id, player_id=player_id, user=get_user(request), ban_address=_ban(data)
    )
    return _host_snapshot(game_id)


def _ban(data: dict[str, Any]) -> bool:
    return bool(_optional(data, "ban_address", bool))


@require_POST
@json_api
def kick_many(request: HttpRequest, game_id: int) -> JsonResponse:
    """Body (JSON): {"player_ids": [7, 8, …], "ban_address": false (optional)}."""
    data = _body(request)
    player_ids = _optional(data, "player_ids", list) or []
    if not all(type(player_id) is int for player_id in player_ids):
        raise GameError("invalid_input", "player_ids is a list of player ids.", 400)
    services.kick_players(
        game_id=game_id, player_ids=player_ids, user=get_user(request), ban_address=_ban(data)
    )
    return _host_snapshot(game_id)


@require_POST
@json_api
def follow(request: HttpRequest, game_id: int) -> JsonResponse:
    """A player follows the host from this finished game into the next one, as the same
    nickname; this browser then plays as that player there. Again from the same browser:
    the player it already is there."""
    following = selectors.next_game(game=_game(game_id))
    player_id = following and session_player_id(request, following["id"])
    if player_id:
        player = services.get_player(game_id=following["id"], player_id=player_id)
    else:
        player = services.follow_to_next_game(
            game_id=game_id,
            player_id=session_player_id(request, game_id),
            address=throttle.client_address(request),
        )
    response = JsonResponse(
        {"game_id": player.game_id, "play_url": reverse("play", args=[player.game_id])}
    )
    remember_player(request, response, player)
    return response


@require_POST
@json_api
def leave(request: HttpRequest, game_id: int) -> JsonResponse:
    """The player leaves; this browser forgets them, so the join form is what comes next."""
    player = services.leave_game(game_id=game_id, player_id=session_player_id(request, game_id))
    response = JsonResponse({"left": True, "player_id": player.id, "join_url": JOIN_PAGE})
    forget_player(request, response, game_id)
    return response


@login_required
def results_csv(request: HttpRequest, game_id: int) -> HttpResponse:
    game = get_object_or_404(Game, pk=game_id)
    if request.user.pk not in (game.host_id, game.quiz.author_id):
        return HttpResponse("Only the author can download results.", status=403)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="game-{game.id}-results.csv"'
    csv.writer(response).writerows(selectors.results_table(game=game))
    return response
