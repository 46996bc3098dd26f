"""Per-client limits on guessing PINs, counted in the shared cache (joins are counted from
the players' own rows: selectors.recent_joins).

Many clients share one address (a school's NAT, a lecture hall's), so a client is its
browser: the random id in a signed cookie the site's first answer to a join gives it (the form
at the site's root is a static page and gives none). Each client has its own limit, and its
address a much higher one that bounds a guesser who starts fresh browsers. A request that
brings no such cookie (a browser's first join, a script that keeps no cookies) is counted by
its address's limit only: a typo on one phone's first try must not count against every phone
behind its address, and a script that drops its cookie is no better off than a fresh browser.

A fixed window per client: simple, and the counts live in Django's database cache, so every
site process (one on SQLite, several on PostgreSQL) counts against the same limit. The cache's
increment is not atomic across processes: a burst may get a few tries past the limit, never
many. Answers are not counted here; their path stays as fast as it was."""

import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

CLIENT_COOKIE = "quiz_client"
CLIENT_COOKIE_AGE = 365 * 24 * 3600


def client_address(request: HttpRequest) -> str | None:
    """Where the request comes from, for every count and ban by address: the peer's IP
    address as the server saw it (REMOTE_ADDR), written one way; None when it gave none
    (gunicorn on a Unix socket behind a proxy leaves it empty). No header a client can write
    changes it: behind a proxy, see docs/operations.md."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def client_id(request: HttpRequest) -> str | None:
    """The id this browser was given with an answer to a join (signed: nobody picks their
    own)."""
    return request.get_signed_cookie(
        CLIENT_COOKIE, default=None, salt=CLIENT_COOKIE, max_age=CLIENT_COOKIE_AGE
    )


def identify_client(request: HttpRequest, response: HttpResponse) -> None:
    """Give a browser that has none an id of its own, to be counted by."""
    if client_id(request) is None:
        response.set_signed_cookie(
            CLIENT_COOKIE,
            secrets.token_urlsafe(16),
            salt=CLIENT_COOKIE,
            max_age=CLIENT_COOKIE_AGE,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )


def _client(request: HttpRequest) -> str | None:
    """Who is counted: the browser, if it brings the id the site gave it."""
    given = client_id(request)
    return f"client:{given}" if given else None


def _address(request: HttpRequest) -> str:
    """Clients without an address are counted as one."""
    return f"address:{client_address(request)}"


@dataclass(frozen=True)
class Limit:
    """At most `count` hits of `scope` per `who` (a client, an address) in each window of
    `period` seconds."""

    scope: str
    count: int
    who: Callable[[HttpRequest], str | None]  # None: this limit does not count the request
    period: int = 60


def pin_guesses() -> tuple[Limit, ...]:
    """Wrong PINs (an unknown or a finished game): each client's, and its address's."""
    return (
        Limit("pin_guess", settings.QUIZ_PIN_GUESSES_PER_MINUTE, _client),
        Limit("pin_guess_address", settings.QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE, _address),
    )


def _keys(limits: tuple[Limit, ...], request: HttpRequest) -> dict[str, Limit]:
    """The cache key of each of `limits` that counts this request, in the current window."""
    keys = {}
    for limit in limits:
        who = limit.who(request)
        if who is not None:
            keys[f"throttle:{limit.scope}:{who}:{int(time.time()) // limit.period}"] = limit
    return keys


def exceeded(limits: tuple[Limit, ...], request: HttpRequest) -> bool:
    """Whether this request's client has used up any of `limits` in the current window (one
    read of the cache for them all)."""
    keys = _keys(limits, request)
    used = cache.get_many(list(keys))
    return any(used.get(key, 0) >= limit.count for key, limit in keys.items())


def hit(limits: tuple[Limit, ...], request: HttpRequest) -> None:
    """Count one more use of each of `limits` by this request's client."""
    for key, limit in _keys(limits, request).items():
        if cache.add(key, 1, timeout=limit.period):
            continue
        try:
            cache.incr(key)
        except ValueError:  # the window's entry expired in between
            cache.add(key, 1, timeout=limit.period)
