"""Read-only subscribers over plain HTTP, for networks that block WebSockets: long-polling
(`GET /poll`) and Server-Sent Events (`GET /sse`) on the WebSocket listener's port, served
from a topic's history (broker.history) with the same offsets and the same "too old".

A request names one topic and the offset it wants next, and is answered with the messages
from there on, or waits for the next one for a bounded time: websockets answers plain HTTP
from its opening handshake, which `open_timeout` bounds, so no response may outlive it. An
SSE response therefore ends too, with a `retry:` hint, and EventSource's reconnect sends
`Last-Event-ID`, which is the resume. The same tokens, scopes and refusals as a STOMP CONNECT
with a token and a SUBSCRIBE: broker.auth decides.
"""

from __future__ import annotations

import asyncio
import http
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from broker.auth import AccessRefused, Authority, PasscodeCheck
from broker.destinations import DestinationError, parse_destination
from broker.frames import decimal
from broker.history import MAX_OFFSET_DIGITS, Resume, TopicLog
from broker.routing import Broker, TopicMessage

POLL_PATH = "/poll"
SSE_PATH = "/sse"
TRANSPORTS = {POLL_PATH: "poll", SSE_PATH: "sse"}
# websockets' open_timeout bounds the time to answer plain HTTP too: the WebSocket listener
# sets it to this (rather than websockets' 10 s), so that a request may wait long enough for
# an idle subscriber to cost little (one request per MAX_WAIT_SECONDS), with room to spare.
OPEN_TIMEOUT_SECONDS = 30.0
MAX_WAIT_SECONDS = 20.0
# An EventSource reconnects this soon after a response ends (its `retry:` hint).
RETRY_MS = 100
# Requests one address may have waiting at once: a school behind one NAT address is a few
# hundred pages; more than that from one address is a client that does not wait its turn.
# All addresses together may have limits.max_connections waiting (besides the STOMP ones).
MAX_WAITING_PER_HOST = 1_000
# Fields a request's query may have (destination, offset, wait, access_token and room for
# cache busters); parsing more would only cost memory.
MAX_QUERY_FIELDS = 10
SSE_LINE_END = re.compile(r"\r\n|\r|\n")
# What a page on another origin may send with its GET (a CORS preflight asks first): its
# token, and an EventSource's resume; and how long its browser may remember the answer.
CORS_ALLOWED_HEADERS = "Authorization, Last-Event-ID"
CORS_MAX_AGE_SECONDS = 600


class Refusal(Exception):
    """A request the broker will not serve: its HTTP status and the reason, in the body."""

    def __init__(self, status: http.HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Ask:
    """What one request asks for: a topic, where to start, how long it may wait."""

    destination: str
    name: str
    # The offset wanted next; None: none, so answer at once with where the topic stands.
    offset: int | None
    # An EventSource's reconnect (it sent Last-Event-ID): wait for what comes next.
    continuing: bool
    wait_seconds: float
    token: str | None


def _offset(value: str, what: str) -> int:
    offset = decimal(value, max_digits=MAX_OFFSET_DIGITS)
    if offset is None:
        raise Refusal(
            http.HTTPStatus.BAD_REQUEST, f"{what} must be a whole number, got {value[:40]!r}"
        )
    return offset


def parse_ask(request: Request) -> Ask:
    """The request's destination, offset, wait and token; 400 saying what is wrong."""
    try:
        fields = parse_qs(request.path.partition("?")[2], max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:  # more fields than that
        raise Refusal(
            http.HTTPStatus.BAD_REQUEST, f"the query has more than {MAX_QUERY_FIELDS} fields"
        ) from None
    query = {name: values[-1] for name, values in fields.items()}
    destination = query.get("destination", "")
    if not destination:
        raise Refusal(http.HTTPStatus.BAD_REQUEST, "destination=/topic/<name> is required")
    try:
        parsed = parse_destination(destination)
    except DestinationError as error:
        raise Refusal(http.HTTPStatus.BAD_REQUEST, str(error)) from None
    if parsed.kind != "topic" or parsed.is_pattern:
        raise Refusal(
            http.HTTPStatus.BAD_REQUEST,
            f"HTTP subscribers follow one topic without wildcards, not {destination[:80]}",
        )
    last_event_id = request.headers.get("Last-Event-ID")
    if last_event_id is not None:
        offset: int | None = _offset(last_event_id, "Last-Event-ID") + 1
    elif "offset" in query:
        offset = _offset(query["offset"], "offset")
    else:
        offset = None
    wait = query.get("wait", str(MAX_WAIT_SECONDS))
    try:
        wait_seconds = float(wait)
    except ValueError:
        wait_seconds = math.nan
    if not 0 <= wait_seconds < math.inf:
        raise Refusal(
            http.HTTPStatus.BAD_REQUEST,
            f"wait must be a number of seconds (at most {MAX_WAIT_SECONDS:g} are waited), "
            f"got {wait[:40]!r}",
        )
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else query.get("access_token")
    return Ask(
        destination,
        parsed.name,
        offset,
        last_event_id is not None,
        min(wait_seconds, MAX_WAIT_SECONDS),
        token or None,
    )


def authorize(broker: Broker, ask: Ask) -> Authority:
    """Who the request's token is and that it may read the topic, as a CONNECT with that
    token and a SUBSCRIBE would be decided; 401 or 403 with the same reason otherwise."""
    try:
        credentials = broker.authentication.credentials(login=None, passcode=ask.token, vhost="/")
    except AccessRefused as error:
        broker.counters.auth_failures += 1
        raise Refusal(http.HTTPStatus.UNAUTHORIZED, str(error)) from None
    if isinstance(credentials, PasscodeCheck):
        broker.counters.auth_failures += 1
        raise Refusal(
            http.HTTPStatus.UNAUTHORIZED,
            "HTTP subscribers authenticate with a token (Authorization: Bearer <token>, or "
            "access_token=<token>), not a passcode",
        )
    if not credentials.may_read(ask.destination):
        raise Refusal(
            http.HTTPStatus.FORBIDDEN,
            f"access refused: {credentials.login!r} may not subscribe to {ask.destination}",
        )
    if broker.history.rule(ask.name) is None:
        raise Refusal(
            http.HTTPStatus.NOT_FOUND,
            f"{ask.destination} keeps no history: HTTP subscribers are served from a topic's "
            "history, so only topics a [[history]] pattern names can be followed over HTTP",
        )
    return credentials


@dataclass
class Answer:
    """What a request gets: the messages from its offset on, whether a resume was honoured
    (None when it asked for none), and the offset to ask for next."""

    messages: list[tuple[int, TopicMessage]]
    resume: str | None
    next_offset: int


def read(broker: Broker, ask: Ask, offset: int | None) -> Answer:
    """The messages of the topic from `offset` on (none, and where it stands, for None)."""
    log = broker.history.log_to_read(ask.name)
    assert log is not None  # authorize() refused topics without history
    if offset is None:
        return Answer([], None, log.next_offset)
    outcome, missed = broker.history.since(ask.name, offset)
    if outcome != Resume.RESUMED:
        return Answer([], outcome, log.next_offset)
    first = log.next_offset - len(missed)
    return Answer(list(enumerate(missed, start=first)), outcome, log.next_offset)


def _message_json(offset: int, message: TopicMessage) -> dict[str, Any]:
    headers = {name: value for name, value in message.headers if name != "content-length"}
    return {"offset": offset, "headers": headers, "body": message.body.decode(errors="replace")}


def poll_body(ask: Ask, answer: Answer) -> str:
    """The JSON a long-poll gets: its messages, what became of its resume, what to ask next."""
    document: dict[str, Any] = {
        "destination": ask.destination,
        "messages": [_message_json(offset, message) for offset, message in answer.messages],
        "next_offset": answer.next_offset,
    }
    if answer.resume is not None:
        document["resume"] = answer.resume
    return json.dumps(document) + "\n"


def _event(fields: list[tuple[str, str]]) -> str:
    """One SSE event; a value's lines each become a field of their own, as SSE requires (its
    lines end at CR, LF or CRLF only: str.splitlines() would also cut at U+2028 and others)."""
    lines = [f"{name}: {line}" for name, value in fields for line in SSE_LINE_END.split(value)]
    return "\n".join(lines) + "\n\n"


def sse_body(ask: Ask, answer: Answer) -> str:
    """The event stream an EventSource gets: each message as an event whose id is its offset,
    then, on a first request or after "too old", a `ready` event saying what became of the
    resume, with the id to come back from."""
    parts = [f"retry: {RETRY_MS}\n\n"]
    parts += [
        _event([("id", str(offset)), ("data", message.body.decode(errors="replace"))])
        for offset, message in answer.messages
    ]
    if not ask.continuing or answer.resume == Resume.TOO_OLD:
        ready = {"resume": answer.resume, "next_offset": answer.next_offset}
        last = str(answer.next_offset - 1)
        parts.append(_event([("event", "ready"), ("id", last), ("data", json.dumps(ready))]))
    return "".join(parts)


class HttpSubscribers:
    """Answers /poll and /sse for one broker, and counts the requests being served, by
    transport (for /stats and /metrics) and by address (MAX_WAITING_PER_HOST), and the bytes
    of answers their clients have not taken yet (limits.max_http_answer_bytes)."""

    def __init__(self, broker: Broker, allowed_origins: tuple[str, ...]) -> None:
        self._broker = broker
        self._allowed_origins = allowed_origins
        self.serving: Counter[str] = Counter()
        self._by_host: Counter[str] = Counter()
        self.answer_bytes = 0

    async def answer(self, connection: ServerConnection, request: Request) -> Response:
        """The response to GET /poll or /sse: a refusal as text/plain with its reason."""
        path = request.path.partition("?")[0]
        transport = TRANSPORTS[path]
        try:
            ask = parse_ask(request)
            self._check_origin(request)
            authority = authorize(self._broker, ask)
            host = str(connection.remote_address[0])
            self._check_room(host)
        except Refusal as refusal:
            response = connection.respond(refusal.status, refusal.reason + "\n")
            self._allow_origin(request, response)
            return response
        self.serving[transport] += 1
        self._by_host[host] += 1
        try:
            answer = await self._answer(connection, ask, authority, transport)
        finally:
            self.serving[transport] -= 1
            self._by_host[host] -= 1
            if not self._by_host[host]:
                del self._by_host[host]
        self._broker.counters.messages_out += len(answer.messages)
        if transport == "poll":
            body, content_type = poll_body(ask, answer), "application/json"
        else:
            body, content_type = sse_body(ask, answer), "text/event-stream; charset=utf-8"
        response = connection.respond(http.HTTPStatus.OK, body)
        headers = Headers(response.headers)
        del headers["Content-Type"]
        headers["Content-Type"] = content_type
        headers["Cache-Control"] = "no-store"
        response.headers = headers
        self._allow_origin(request, response)
        self._hold(connection, response)
        return response

    def _hold(self, connection: ServerConnection, response: Response) -> None:
        """Count an answer until its client is gone, then let it go at once: websockets keeps
        the response on its connection, which reference cycles would keep (up to 1.5 MB of
        history, for a client that left without reading it) until a full garbage collection.
        """
        size = len(response.body)
        self.answer_bytes += size

        def gone(_: object) -> None:
            self.answer_bytes -= size
            connection.response = None

        connection.connection_lost_waiter.add_done_callback(gone)

    async def _answer(
        self, connection: ServerConnection, ask: Ask, authority: Authority, transport: str
    ) -> Answer:
        """Read at once; wait for the next message when there is nothing yet and the request
        waits (a long-poll with an offset, an EventSource's reconnect)."""
        answer = read(self._broker, ask, ask.offset)
        waits = ask.offset is not None and (transport == "poll" or ask.continuing)
        if answer.messages or answer.resume != Resume.RESUMED or not waits:
            return answer
        wait = ask.wait_seconds
        if authority.expires_at is not None:
            wait = min(wait, max(authority.expires_at - self._broker.wall_time(), 0.0))
        log = self._broker.history.log_to_read(ask.name)
        assert log is not None
        await _next_append(log, wait, connection.connection_lost_waiter)
        return read(self._broker, ask, ask.offset)

    def preflight(self, connection: ServerConnection, request: Request) -> Response:
        """204 to a browser's CORS preflight (OPTIONS) from an allowed origin, which a page
        on another origin sends before a GET with `Authorization: Bearer`: without a token,
        since a preflight never carries one; 403 for another origin."""
        try:
            self._check_origin(request)
        except Refusal as refusal:
            return connection.respond(refusal.status, refusal.reason + "\n")
        response = connection.respond(http.HTTPStatus.NO_CONTENT, "")
        headers = Headers(response.headers)
        del headers["Content-Type"], headers["Content-Length"]  # 204 has no content
        headers["Access-Control-Allow-Methods"] = "GET"
        headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
        headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
        response.headers = headers
        self._allow_origin(request, response)
        return response

    def _check_origin(self, request: Request) -> None:
        """A browser page's origin must be one of [http] allowed_origins, as for a WebSocket."""
        origin = request.headers.get("Origin")
        if origin is not None and self._allowed_origins and origin not in self._allowed_origins:
            reason = f"Origin {origin[:80]!r} is not in [http] allowed_origins"
            raise Refusal(http.HTTPStatus.FORBIDDEN, reason)

    def _allow_origin(self, request: Request, response: Response) -> None:
        """CORS: a page on another origin (the site's) may read the answer; the token is in
        the request, so no cookie is involved."""
        origin = request.headers.get("Origin")
        if origin is not None and (not self._allowed_origins or origin in self._allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"

    def _check_room(self, host: str) -> None:
        """503 past MAX_WAITING_PER_HOST for one address, past limits.max_connections, or
        while answers not taken yet hold limits.max_http_answer_bytes."""
        held = self._broker.config.limits.max_http_answer_bytes
        if self.answer_bytes >= held:
            raise Refusal(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                f"answers waiting for their clients hold limits.max_http_answer_bytes={held} "
                "bytes; try again later",
            )
        limit = self._broker.config.limits.max_connections
        if self.serving.total() >= limit:
            raise Refusal(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                f"too many connections (limits.max_connections={limit}); try again later",
            )
        if self._by_host[host] >= MAX_WAITING_PER_HOST:
            raise Refusal(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                f"too many HTTP subscribers from {host} ({MAX_WAITING_PER_HOST}); try again later",
            )


async def _next_append(
    log: TopicLog[TopicMessage], seconds: float, lost: asyncio.Future[None]
) -> None:
    """Until the log's next message, `seconds`, or the client going away, whichever first;
    the waiter leaves the log either way."""
    appended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not appended.done():
            appended.set_result(None)

    log.waiters[wake] = None
    try:
        await asyncio.wait((appended, lost), timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        log.waiters.pop(wake, None)
