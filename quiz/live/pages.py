"""What a page needs to follow its game on the broker: where to connect, what to subscribe
to, where to announce itself and the token to do it with."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from quiz.game.models import Game, Player
from quiz.live import frames, tokens


def page_config(
    request: HttpRequest, *, game: Game, role: str, player: Player | None
) -> dict[str, Any]:
    """The broker's part of a page's game config (`role` "host" or "player"):
    `{"ws_url", "fallback_url", "topics", "presence", "token", "answer_topic", "replies",
    "history"}`."""
    return {
        # where a player's page sends its answers (None: it POSTs them)
        "answer_topic": tokens.answer_topic(game=game, player=player) if player else None,
        # where it hears of an answer sent there that was refused
        "replies": tokens.reply_topic(game=game, player=player) if player else None,
        "ws_url": broker_ws_url(request),
        "fallback_url": broker_fallback_url(request, role),
        "topics": frames.topics(game_id=game.id, role=role),
        "presence": presence_config(game, role),
        # whether the broker replays what its topics keep (STOMP_HISTORY)
        "history": settings.STOMP_HISTORY,
        # the first connect's token, so that a page needs no request for it
        "token": tokens.browser_token(game=game, player=player, host_id=request.user.pk),
    }


def broker_ws_url(request: HttpRequest) -> str:
    """STOMP_WS_URL, or the page's own host name on STOMP_WS_PORT."""
    if settings.STOMP_WS_URL:
        return settings.STOMP_WS_URL
    scheme = "wss" if request.is_secure() else "ws"
    host = urlsplit(f"//{request.get_host()}").hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{settings.STOMP_WS_PORT}/ws"


def broker_fallback_url(request: HttpRequest, role: str) -> str | None:
    """Where a player's page follows its game over Server-Sent Events when WebSockets are
    blocked: the broker's /sse beside its WebSocket path. None without STOMP_HTTP_FALLBACK
    (RabbitMQ), and for the host, whose players topic keeps no history (docs/game.md)."""
    if not settings.STOMP_HTTP_FALLBACK or role == "host":
        return None
    url = urlsplit(broker_ws_url(request))
    scheme = "https" if url.scheme == "wss" else "http"
    return url._replace(scheme=scheme, path=f"{url.path.rpartition('/')[0]}/sse").geturl()


def presence_config(game: Game, role: str) -> dict[str, str] | None:
    """Where a player's page announces itself and where the host watches who is connected;
    None without STOMP_PRESENCE (RabbitMQ), and the host screen then marks no one."""
    if not settings.STOMP_PRESENCE:
        return None
    if role == "host":
        return {"watch": frames.presence(game_id=game.id)}
    return {"announce": frames.topic(game_id=game.id, name=frames.STATUS)}
