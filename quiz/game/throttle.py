"""Per-client limits on guessing PINs, counted in the shared cache (joins are counted from
the players' own rows: selectors.recent_joins).

Many clients share one address (a school's NAT, a lecture hall's), so a client is its
browser: the random id in a signed cookie the join form gives it. Each client has its own
limit, and its address a much higher one that bounds a guesser who starts fresh browsers. A
request that brings no such cookie (a script that never opened the form) counts as its whole
address, under the client's limit.

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
    """The id this browser was given with the join form (signed: nobody picks their own)."""
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


def _client(request: HttpRequest) -> str:
    """Who is counted: the browser, or its address when it brings no id."""
    given = client_id(request)
    return f"client:{given}" if given else _address(request)


def _address(request: HttpRequest) -> str:
    """Clients without an address are counted as one."""
    return f"address:{client_address(request)}"


@dataclass(frozen=True)
class Limit:
    """At most `count` hits of `scope` per `who` (a client, an address) in each window of
    `period` seconds."""

    scope: str
    count: int
    who: Callable[[HttpRequest], str]
    period: int = 60


def pin_guesses() -> tuple[Limit, ...]:
    """Wrong PINs (an unknown or a finished game): each client's, and its address's."""
    return (
        Limit("pin_guess", settings.QUIZ_PIN_GUESSES_PER_MINUTE, _client),
        Limit("pin_guess_address", settings.QUIZ_PIN_GUESSES_PER_ADDRESS_PER_MINUTE, _address),
    )


def _key(limit: Limit, request: HttpRequest) -> str:
    window = int(time.time()) // limit.period
    return f"throttle:{limit.scope}:{limit.who(request)}:{window}"


def exceeded(limits: tuple[Limit, ...], request: HttpRequest) -> bool:
    """Whether this request's client has used up any of `limits` in the current window (one
    read of the cache for them all)."""
    keys = {_key(limit, request): limit.count for limit in limits}
    used = cache.get_many(list(keys))
    return any(used.get(key, 0) >= count for key, count in keys.items())


def hit(limits: tuple[Limit, ...], request: HttpRequest) -> None:
    """Count one more use of each of `limits` by this request's client."""
    for limit in limits:
        key = _key(limit, request)
        if cache.add(key, 1, timeout=limit.period):
            continue
        try:
            cache.incr(key)
        except ValueError:  # the window's entry expired in between
            cache.add(key, 1, timeout=limit.period)
