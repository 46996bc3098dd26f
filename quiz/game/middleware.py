"""The Content-Security-Policy every response carries: scripts, styles and everything else
from the site itself, connections to the site and the game's broker only. A script that got
into a page some other way (a nickname or a question's text that escaped its escaping) does
not run, and cannot send what it read anywhere."""

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from quiz.live.pages import broker_ws_url


def broker_origins(request: HttpRequest) -> list[str]:
    """Where this request's page connects besides the site: the broker's WebSocket, and its
    HTTP fallback (Server-Sent Events) on the same host and port."""
    try:
        url = urlsplit(broker_ws_url(request))
    except DisallowedHost:  # refused anyway, and its page has no game to follow
        return []
    http = "https" if url.scheme == "wss" else "http"
    return [f"{url.scheme}://{url.netloc}", f"{http}://{url.netloc}"]


def policy(request: HttpRequest, nonce: str) -> str:
    """The policy for `request`'s response. The one inline script, base.html's import map,
    carries `nonce`; the JSON a page reads its config from is data, which no policy stops.
    Pictures may come from any web address: authors name them (validators)."""
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' http: https:",
        " ".join(["connect-src 'self'", *broker_origins(request)]),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    """Give each request a fresh nonce (`request.csp_nonce`, for templates) and its response
    the policy, unless a view set one of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", policy(request, request.csp_nonce))
        return response
