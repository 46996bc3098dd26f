"""What a browser may do on the broker: read its game's two topics; with STOMP_ANSWERS, a
player writes its answers to a topic of its own (quiz.live.answers) and nowhere else, and
reads the replies to them on another; with
STOMP_PRESENCE, a player announces itself on its game's status topic and the host watches who
is there.

The same token works on our broker and on RabbitMQ's OAuth 2.0 backend (docs/game.md)."""

from typing import Any

from django.conf import settings

from broker.tokens import issue_token
from quiz.game.models import Game, Player
from quiz.live import frames


def rabbitmq_subscription_scopes(resource_server_id: str, queue_prefix: str) -> tuple[str, ...]:
    """What RabbitMQ needs beyond reading a topic: its STOMP plugin subscribes through an
    auto-delete queue, which the subscriber declares (configure), binds (write) and consumes
    (read). Writing to a queue is not publishing: that needs write on an exchange, and the
    token grants none. Only queues named `queue_prefix`… (the page names each with the
    SUBSCRIBE header x-queue-name), so a kick can find and delete every subscription of the
    token, whatever login its connection gave. Our broker ignores these."""
    return tuple(
        f"{resource_server_id}.{permission}:*/{queue_prefix}*"
        for permission in ("configure", "write", "read")
    )


def player_login(player: Player) -> str:
    """The broker user a player's page connects as, one per player: the token's subject (our
    broker's name for the connection) and the page's CONNECT login (RabbitMQ's), so that a
    kick can close exactly that player's connections (quiz.live.revocation)."""
    return f"player:{player.id}"


def queue_prefix(login: str) -> str:
    """How the subscription queues of `login`'s pages are named on RabbitMQ."""
    return f"stomp-subscription-{login.replace(':', '-')}-"


def answer_topic(*, game: Game, player: Player) -> str | None:
    """Where `player`'s page sends its answers, if over the broker (STOMP_ANSWERS)."""
    if not settings.STOMP_ANSWERS:
        return None
    return frames.answer_topic(game_id=game.id, player_id=player.id)


def reply_topic(*, game: Game, player: Player) -> str | None:
    """Where `player`'s page hears that an answer it sent over the broker was refused."""
    if not settings.STOMP_ANSWERS:
        return None
    return frames.reply_topic(game_id=game.id, player_id=player.id)


def browser_token(*, game: Game, player: Player | None, host_id: int | None) -> dict[str, Any]:
    """A token for `player`'s page, or the host's (`player` None), the login to send with it
    and the prefix of its subscription queues' names:
    `{"token", "login", "queue_prefix", "expires_in"}`."""
    subject = player_login(player) if player is not None else f"host:{host_id}"
    prefix = queue_prefix(subject)
    ttl = settings.STOMP_TOKEN_TTL_SECONDS
    server_id = settings.STOMP_TOKEN_RESOURCE_SERVER_ID
    status = frames.topic(game_id=game.id, name=frames.STATUS)
    presence = (status,) if settings.STOMP_PRESENCE else ()
    answers_to = answer_topic(game=game, player=player) if player is not None else None
    replies = reply_topic(game=game, player=player) if player is not None else None
    jwt = issue_token(
        secret=settings.STOMP_TOKEN_SECRET,
        subject=subject,
        read=(frames.read_pattern(game_id=game.id), *([replies] if replies else [])),
        write=(answers_to,) if answers_to else (),
        ttl_seconds=ttl,
        resource_server_id=server_id,
        extra_scopes=rabbitmq_subscription_scopes(server_id, prefix),
        announce=presence if player is not None else (),
        watch=presence if player is None else (),
    )
    return {"token": jwt, "login": subject, "queue_prefix": prefix, "expires_in": ttl}
