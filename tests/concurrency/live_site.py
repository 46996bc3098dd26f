"""Talking to the site over HTTP as browsers do: each its own cookies, so its own session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener


@dataclass
class Site:
    """gunicorn serving the game, and what the tests need to drive it."""

    url: str
    quiz_ids: dict[str, int]  # "long" and "short", by their questions' time limit
    access_log: Path


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _KeepRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """One visitor with its own cookie jar, so its own Django session and CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies = CookieJar()
        self._opener = build_opener(HTTPCookieProcessor(self.cookies), _KeepRedirects)

    def request(
        self, method: str, path: str, *, data: bytes | None = None, content_type: str | None = None
    ) -> Response:
        headers = {"X-CSRFToken": self.csrf_token()} if method == "POST" else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=60) as reply:
                return Response(reply.status, dict(reply.headers), reply.read())
        except HTTPError as error:
            return Response(error.code, dict(error.headers), error.read())

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> Response:
        return self.request(
            "POST",
            path,
            data=urlencode(fields).encode(),
            content_type="application/x-www-form-urlencoded",
        )

    def post_json(self, path: str, body: dict[str, Any] | None = None) -> Response:
        return self.request(
            "POST", path, data=json.dumps(body or {}).encode(), content_type="application/json"
        )

    def csrf_token(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")
