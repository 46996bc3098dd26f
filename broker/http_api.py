"""The HTTP side of the WebSocket port: `/healthz`, `/stats` and `/metrics`, the admin API and
the HTTP subscribers (`/poll`, `/sse`); a request for the WebSocket path goes on to the
upgrade. Who may ask what is the `[http]` settings'."""

from __future__ import annotations

import asyncio
import functools
import http
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers, MultipleValuesError
from websockets.exceptions import InvalidHeader
from websockets.headers import parse_authorization_basic
from websockets.http11 import Request, Response

from broker import admin, http_subscribers, metrics
from broker.auth import LoginsBusy
from broker.config import BrokerConfig
from broker.routing import Broker


class HttpApi:
    """Answers every HTTP request of the WebSocket port but the upgrade (`answer`, which
    websockets calls as its process_request)."""

    def __init__(
        self,
        broker: Broker,
        config: BrokerConfig,
        subscribers: http_subscribers.HttpSubscribers,
        stats: Callable[[], dict[str, Any]],
    ) -> None:
        self._broker = broker
        self._settings = config.http
        self._ws = config.ws
        self._ws_path = config.ws_path
        self._http_subscribers = subscribers
        self._stats = stats

    async def answer(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the HTTP side of the WebSocket port; a header given twice where one is read
        is a bad request (websockets' Headers refuse to pick one), not a server error."""
        try:
            return await self._answer_http(connection, request)
        except LoginsBusy as error:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, f"{error}\n")
        except MultipleValuesError as error:
            return connection.respond(
                http.HTTPStatus.BAD_REQUEST,
                f"the {error.args[0]} header is repeated: send it once\n",
            )

    async def _answer_http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer /stats, /metrics, /healthz, the admin API and the HTTP subscribers (/poll,
        /sse) on the WebSocket port; only ws_path upgrades."""
        path = request.path.split("?", 1)[0]
        if path in http_subscribers.TRANSPORTS:
            if request.method == "OPTIONS":
                return self._http_subscribers.preflight(connection, request)
            return await self._http_subscribers.answer(connection, request)
        if path in ("/stats", "/metrics"):
            return await self._stats_response(connection, request, path)
        if path.startswith(admin.CONNECTIONS_OF_USER):
            return self._host_refusal(connection, request) or await admin.connections_of_user(
                connection,
                request,
                broker=self._broker,
                admin_users=self._settings.admin_users,
                login_verified=functools.partial(self._login_verified, connection),
            )
        if path == "/healthz":
            return self._json(connection, {"status": "ok"})
        if path != self._ws_path:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _stats_response(
        self, connection: ServerConnection, request: Request, path: str
    ) -> Response:
        """/stats (JSON) and /metrics (Prometheus) name every destination and queue depth:
        only for the hosts and logins the [http] settings allow."""
        settings = self._settings
        refusal = self._host_refusal(connection, request)
        if refusal is not None:
            return refusal
        users = settings.stats_users
        if settings.stats_open or (
            users and await self._login_verified(connection, request, users)
        ):
            if path == "/metrics":
                return await self._metrics(connection)
            return self._json(connection, self._stats())
        if not settings.stats_users:
            return connection.respond(
                http.HTTPStatus.FORBIDDEN,
                f"{path} is off: list logins in [http] stats_users (HTTP basic "
                "authentication) or set [http] stats_open = true\n",
            )
        response = connection.respond(
            http.HTTPStatus.UNAUTHORIZED,
            f"{path} needs HTTP basic authentication as one of [http] stats_users\n",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="broker stats", charset="UTF-8"'
        return response

    def _host_refusal(self, connection: ServerConnection, request: Request) -> Response | None:
        """403 for a Host header not in [http] allowed_hosts (a defence against DNS
        rebinding), None for an allowed one."""
        host = request.headers.get("Host", "")
        if _host_name(host) in self._allowed_hosts():
            return None
        path = request.path.split("?", 1)[0]
        return connection.respond(
            http.HTTPStatus.FORBIDDEN,
            f"{path[:80]}: Host {host[:80]!r} is not in [http] allowed_hosts\n",
        )

    async def _login_verified(
        self, connection: ServerConnection, request: Request, logins: tuple[str, ...]
    ) -> bool:
        """The request's HTTP basic credentials are right and name one of `logins`."""
        try:
            login, passcode = parse_authorization_basic(request.headers.get("Authorization", ""))
        except InvalidHeader:
            return False
        authentication = self._broker.authentication
        check = authentication.check_login(login, passcode)
        if authentication.remembers(check):
            return login in logins
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        host = str(connection.remote_address[0])
        pending = authentication.verify(check, answer.set_result, host=host)
        try:
            verified = await answer
        finally:
            pending.cancel()  # the request was given up (its client left): no hash needed
        return verified and login in logins

    def _allowed_hosts(self) -> frozenset[str]:
        if self._settings.allowed_hosts is not None:
            return frozenset(self._settings.allowed_hosts)
        listener = {self._ws.host.lower()} if self._ws else set()
        return frozenset({"localhost", "127.0.0.1", "::1"} | listener)

    @staticmethod
    def _json(connection: ServerConnection, body: dict[str, Any]) -> Response:
        return _typed(connection, json.dumps(body) + "\n", "application/json")

    async def _metrics(self, connection: ServerConnection) -> Response:
        """The Prometheus exposition, with the event loop's lag measured now: how long a
        callback waits for its turn (nothing measures it while nobody scrapes)."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await asyncio.sleep(0)
        lag = loop.time() - asked
        text = metrics.exposition(metrics.registry(self._stats, lambda: lag)).decode()
        return _typed(connection, text, metrics.CONTENT_TYPE)


def _typed(connection: ServerConnection, body: str, content_type: str) -> Response:
    """200 with `body` as `content_type` (websockets' respond() says text/plain)."""
    response = connection.respond(http.HTTPStatus.OK, body)
    headers = Headers(response.headers)
    del headers["Content-Type"]
    headers["Content-Type"] = content_type
    response.headers = headers
    return response


def _host_name(header: str) -> str:
    """`example.org:15674` → `example.org`, `[::1]:15674` → `::1`, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    name, colon, port = header.rpartition(":")
    return name if colon and port.isdigit() else header
