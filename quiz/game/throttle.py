"""Per-client limits on guessing PINs, counted in the shared cache (joins are counted from
the players' own rows: selectors.recent_joins).

A fixed window per client address: simple, and the counts live in Django's database cache, so
every site process (one on SQLite, several on PostgreSQL) counts against the same limit. The
cache's increment is not atomic across processes: a burst may get a few tries past the limit,
never many. Answers are not counted here; their path stays as fast as it was."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    """At most `count` hits of `scope` per client in each window of `period` seconds."""

    scope: str
    count: int
    period: int = 60


def pin_guesses() -> Limit:
    """Wrong PINs (an unknown or a finished game) from one client."""
    return Limit("pin_guess", settings.QUIZ_PIN_GUESSES_PER_MINUTE)


def client_address(request: HttpRequest) -> str:
    """Who is asking: the peer's address (behind a proxy, see docs/operations.md)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(limit: Limit, request: HttpRequest) -> str:
    window = int(time.time()) // limit.period
    return f"throttle:{limit.scope}:{client_address(request)}:{window}"


def exceeded(limit: Limit, request: HttpRequest) -> bool:
    """Whether this client has used up `limit` in the current window."""
    return cache.get(_key(limit, request), 0) >= limit.count


def hit(limit: Limit, request: HttpRequest) -> None:
    """Count one more use of `limit` by this client."""
    key = _key(limit, request)
    if cache.add(key, 1, timeout=limit.period):
        return
    try:
        cache.incr(key)
    except ValueError:  # the window's entry expired in between
        cache.add(key, 1, timeout=limit.period)
