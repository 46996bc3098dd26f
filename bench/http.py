"""A small HTTP/1.1 client on raw asyncio: keep-alive connections and cookie jars.

Each simulated phone has its own cookies (`Session`) and its own pool of one connection
(`HttpPool`), kept alive while the site keeps it open and opened again when the site closed
it, as a browser does.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

REQUEST_TIMEOUT = 120.0


class HttpError(Exception):
    """No response: the connection failed, closed early or timed out."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; Set-Cookie is in `cookies`
    cookies: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        """The API's error code (or the status) for a refused request."""
        try:
            return f"{self.status} {self.json()['error']}"
        except (ValueError, KeyError, TypeError):
            return str(self.status)


@dataclass
class Session:
    """One browser: its cookies, and the CSRF header Django wants on API posts."""

    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def csrf_token(self) -> str:
        return self.cookies.get("csrftoken", "")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class HttpPool:
    """At most `size` connections to one server, reused while the server keeps them open,
    made from the address `source` if given."""

    def __init__(self, host: str, port: int, size: int, source: str | None = None) -> None:
        self.host = host
        self.port = port
        self.source = source
        self._idle: list[_Connection] = []
        self._gate = asyncio.Semaphore(size)

    async def get(self, session: Session, path: str) -> Response:
        return await self.request(session, "GET", path)

    async def post_form(self, session: Session, path: str, fields: dict[str, str]) -> Response:
        """A form post, with the CSRF token from the session's cookie if it has one (the
        static join form gives none)."""
        token = {"csrfmiddlewaretoken": session.csrf_token} if session.csrf_token else {}
        body = urlencode({**token, **fields}).encode()
        return await self.request(session, "POST", path, body, "application/x-www-form-urlencoded")

    async def post_json(self, session: Session, path: str, data: object) -> Response:
        """An API post: JSON body and the X-CSRFToken header."""
        body = json.dumps(data).encode()
        return await self.request(session, "POST", path, body, "application/json")

    async def request(
        self,
        session: Session,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "",
    ) -> Response:
        """One request; the session takes the cookies it sets. Redirects are not followed."""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if method == "POST":  # as a browser posts from the site's own page
            lines.append(f"Origin: http://{self.host}:{self.port}")
            if session.csrf_token:
                lines.append(f"X-CSRFToken: {session.csrf_token}")
        if session.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in session.cookies.items()))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        async with self._gate:
            response = await asyncio.wait_for(self._exchange(head + body), REQUEST_TIMEOUT)
        session.cookies.update(response.cookies)
        return response

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle = []

    async def _exchange(self, request: bytes) -> Response:
        """Send on an idle connection, or a new one if the server had closed the idle one
        before reading anything (then the request was not seen, so sending again is safe)."""
        while self._idle:
            connection = self._idle.pop()
            connection.writer.write(request)
            try:
                return await self._read(connection)
            except _ClosedBeforeResponse:
                connection.close()
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(self.source, 0) if self.source else None
            )
        except OSError as error:
            raise HttpError(f"connect to {self.host}:{self.port}: {error}") from error
        connection = _Connection(reader, writer)
        writer.write(request)
        try:
            return await self._read(connection)
        except _ClosedBeforeResponse as error:
            raise HttpError("connection closed before the response") from error

    async def _read(self, connection: _Connection) -> Response:
        reader = connection.reader
        try:
            status_line = await reader.readline()
        except ConnectionError:
            status_line = b""
        if not status_line:
            raise _ClosedBeforeResponse
        try:
            version, status, *_ = status_line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            cookies: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "set-cookie":
                    cookie, _, _ = value.partition(";")
                    key, _, cookie_value = cookie.partition("=")
                    cookies[key.strip()] = cookie_value.strip()
                else:
                    headers[name] = value
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
                keep = headers.get("connection", "").lower() != "close" and version != "HTTP/1.0"
            else:
                body = await reader.read()
                keep = False
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            connection.close()
            raise HttpError(f"connection lost: {error}") from error
        if keep:
            self._idle.append(connection)
        else:
            connection.close()
        return Response(int(status), headers, cookies, body)


class _ClosedBeforeResponse(Exception):
    pass
