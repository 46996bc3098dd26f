"""The admin side of the broker's HTTP port: close every connection of one user at once.

The path and method are those of RabbitMQ's management API (`DELETE
/api/connections/username/<name>`, an optional `X-Reason` header, 204 No Content), so an app
that revokes a user (the quiz site, when a host kicks a player) uses one client for both
brokers. Only the logins in `[http] admin_users` may call it, with HTTP basic authentication.
"""

from __future__ import annotations

import http
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from broker.routing import Broker

CONNECTIONS_OF_USER = "/api/connections/username/"
DEFAULT_REASON = "closed by an administrator"
# What of X-Reason goes into the ERROR frame: enough to say why, bounded like any header.
MAX_REASON_CHARS = 200


def close_connections_of(broker: Broker, login: str, reason: str) -> int:
    """Send an ERROR frame saying `reason` to every connection logged in as `login`, then close
    it; how many there were. A token's connection is logged in as the token's subject, and
    the tokens that subject holds are refused from now on (broker.auth.REVOCATION_SECONDS), so
    neither a reconnect nor an HTTP subscriber's next request gets in with one."""
    broker.authentication.revoke(login)
    sessions = [s for s in broker.sessions() if s.connected and s.login == login]
    for session in sessions:
        session.fail(reason)
    return len(sessions)


async def connections_of_user(
    connection: ServerConnection,
    request: Request,
    *,
    broker: Broker,
    admin_users: tuple[str, ...],
    login_verified: Callable[[Request, tuple[str, ...]], Awaitable[bool]],
) -> Response:
    """Answer `request` for `/api/connections/username/<name>` (the Host header is already
    checked): DELETE by one of `admin_users` closes that user's connections."""
    quoted = request.path.split("?", 1)[0].removeprefix(CONNECTIONS_OF_USER)
    if not quoted or "/" in quoted:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
    if request.method != "DELETE":
        response = connection.respond(
            http.HTTPStatus.METHOD_NOT_ALLOWED,
            f"{CONNECTIONS_OF_USER}<login> takes DELETE, which closes that login's connections\n",
        )
        response.headers["Allow"] = "DELETE"
        return response
    if not admin_users:
        return connection.respond(
            http.HTTPStatus.FORBIDDEN,
            f"{CONNECTIONS_OF_USER} is off: list logins in [http] admin_users "
            "(HTTP basic authentication)\n",
        )
    if not await login_verified(request, admin_users):
        response = connection.respond(
            http.HTTPStatus.UNAUTHORIZED,
            f"{CONNECTIONS_OF_USER} needs HTTP basic authentication as one of [http] admin_users\n",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="broker admin", charset="UTF-8"'
        return response
    login = unquote(quoted)
    why = " ".join(request.headers.get("X-Reason", "").split())[:MAX_REASON_CHARS]
    close_connections_of(broker, login, f"{DEFAULT_REASON}: {why}" if why else DEFAULT_REASON)
    return connection.respond(http.HTTPStatus.NO_CONTENT, "")
