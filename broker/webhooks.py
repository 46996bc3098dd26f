"""Webhooks, without I/O: which topics became occupied or vacated, the events each receiver
is owed, and when a failed POST is tried again.

Pusher's channel-existence webhooks: a topic is occupied when its first subscription begins
and vacated when its last one ends, counted per destination a SUBSCRIBE names (a wildcard
subscription occupies its pattern, e.g. `/topic/games.*`). Each `[[webhooks]]` table is an
Endpoint with a bounded queue of its own; one POST at a time carries the oldest queued
events, in order, so the events of a topic reach the receiver in the order they happened,
and a receiver that is slow or dead costs nothing but its own queue. The server's asyncio
task does the POSTs (see `broker.webhook_client`).

Each POST is signed as Stripe's are: `Broker-Signature: t=<unix seconds>,v1=<hex>` where hex
is HMAC-SHA256 under the secret of `<t>.` followed by the body; see `verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from broker.config import Webhook
from broker.frames import decimal
from broker.history import pattern_matches

OCCUPIED = "occupied"
VACATED = "vacated"
SIGNATURE_HEADER = "Broker-Signature"
# A signature older (or newer) than this is a replay: what verify_signature allows by default.
SIGNATURE_TOLERANCE_SECONDS = 300
# Topic names whose endpoints were looked up, kept until there are this many (then forgotten).
RULE_CACHE_SIZE = 10_000

log = logging.getLogger("broker.webhooks")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Broker-Signature header of `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the header signs this body, and was made within `tolerance`
    seconds of `now` (its own clock), so a captured request cannot be replayed later."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    timestamp = decimal(fields.get("t", ""))
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def answer_failure(status_line: bytes) -> str | None:
    """None when a receiver's status line says 2xx, else why the POST failed. A status is
    three ASCII digits: anything else (`²`, 5,000 digits, which int() would refuse with a
    ValueError) is not an HTTP answer."""
    parts = status_line.split(b" ", 2)
    status = decimal(parts[1].decode("latin-1"), max_digits=3) if len(parts) > 1 else None
    if status is None:
        return f"not an HTTP answer: {status_line[:80]!r}"
    return None if 200 <= status < 300 else f"HTTP {status}"


@dataclass(frozen=True, slots=True)
class Event:
    """One occupied or vacated event: `id` is unique, for a receiver to drop a repeat (a POST
    whose answer was lost is sent again)."""

    id: str
    name: str
    topic: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST to make: the transport sends it and reports back with succeeded() or
    failed()."""

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    timeout: float


@dataclass
class WebhookCounters:
    """What `/stats` shows of the webhooks, summed over every receiver."""

    delivered: int = 0
    failed_attempts: int = 0
    dropped: int = 0


class Endpoint:
    """One `[[webhooks]]` table: its queued events (oldest first; the batch being POSTed is
    their head until it succeeds or is dropped) and its retry state."""

    def __init__(self, rule: Webhook, counters: WebhookCounters) -> None:
        self.rule = rule
        self._counters = counters
        self._events: deque[Event] = deque()
        self._batch: tuple[Event, ...] = ()
        self._attempts = 0
        self._retry_at: float | None = None
        self._sending = False
        self._overflowing = False
        self.on_ready: Callable[[], object] | None = None

    @property
    def queued(self) -> int:
        return len(self._events)

    def add(self, event: Event) -> None:
        """Queue an event, or drop it when the queue is full (one log line per overflow)."""
        if len(self._events) >= self.rule.max_queued_events:
            self._counters.dropped += 1
            if not self._overflowing:
                self._overflowing = True
                log.warning(
                    "webhook %s: %d events queued (max_queued_events): dropping new events "
                    "until it answers",
                    self.rule.url,
                    len(self._events),
                )
            return
        self._overflowing = False
        self._events.append(event)
        if self.on_ready is not None:
            self.on_ready()

    def wait_seconds(self, now: float) -> float | None:
        """How long until take() may have a POST to make: None when only a new event can
        bring one (nothing queued, or a POST under way)."""
        if self._sending or not self._events:
            return None
        if self._retry_at is None:
            return 0.0
        return max(self._retry_at - now, 0.0)

    def take(self, *, now: float, wall_time: float) -> Delivery | None:
        """The next POST, if one is due: the batch being retried (freshly signed), or the
        oldest queued events up to max_batch_events."""
        if self._sending or not self._events:
            return None
        if self._retry_at is not None and now < self._retry_at:
            return None
        if not self._batch:
            self._batch = tuple(itertools.islice(self._events, self.rule.max_batch_events))
        self._sending = True
        self._attempts += 1
        return self._delivery(wall_time)

    def _delivery(self, wall_time: float) -> Delivery:
        """The batch as JSON, signed at `wall_time`: a retry is signed afresh, so a receiver's
        replay window counts from the attempt, not from the first one."""
        body = json.dumps(
            {
                "time_ms": int(wall_time * 1000),
                "events": [
                    {"id": e.id, "name": e.name, "topic": e.topic, "time_ms": e.time_ms}
                    for e in self._batch
                ],
            }
        ).encode()
        headers = (
            ("Content-Type", "application/json"),
            (SIGNATURE_HEADER, sign(self.rule.secret, int(wall_time), body)),
        )
        return Delivery(self.rule.url, body, headers, self.rule.timeout_seconds)

    def succeeded(self) -> None:
        """The receiver answered 2xx: its batch leaves the queue."""
        self._counters.delivered += len(self._batch)
        self._end_batch()

    def failed(self, *, now: float, reason: str) -> None:
        """The POST failed (no answer, or not 2xx): try again after a doubled wait, or drop the
        batch after max_attempts."""
        self._counters.failed_attempts += 1
        self._sending = False
        if self._attempts < self.rule.max_attempts:
            self._retry_at = now + self.retry_delay(self._attempts)
            return
        log.warning(
            "webhook %s: dropped %d events after %d attempts, the last: %s",
            self.rule.url,
            len(self._batch),
            self._attempts,
            reason,
        )
        self._counters.dropped += len(self._batch)
        self._end_batch()

    def retry_delay(self, attempts: int) -> float:
        """The wait after `attempts` failed POSTs of one batch: exponential, capped."""
        delay = self.rule.first_retry_seconds * 2 ** (attempts - 1)
        return min(delay, self.rule.max_retry_seconds)

    def _end_batch(self) -> None:
        for _ in self._batch:
            self._events.popleft()
        self._batch = ()
        self._attempts = 0
        self._retry_at = None
        self._sending = False


class Webhooks:
    """Every endpoint, and how many subscriptions each topic they watch has."""

    def __init__(self, rules: tuple[Webhook, ...], *, wall_time: Callable[[], float]) -> None:
        self.counters = WebhookCounters()
        self.endpoints = [Endpoint(rule, self.counters) for rule in rules]
        self._patterns = [
            (endpoint, endpoint.rule.pattern.removeprefix("/topic/").split("."))
            for endpoint in self.endpoints
        ]
        self._wall_time = wall_time
        self._boot = secrets.token_hex(4)
        self._ids = itertools.count(1)
        # Subscriptions per topic name, for the names some endpoint watches.
        self._occupancy: dict[str, int] = {}
        self._endpoints_of: dict[str, tuple[Endpoint, ...]] = {}

    def subscribed(self, name: str) -> None:
        """A topic subscription to `name` began: occupied if it is the first."""
        endpoints = self._watching(name)
        if endpoints:
            count = self._occupancy.get(name, 0) + 1
            self._occupancy[name] = count
            if count == 1:
                self._tell(endpoints, OCCUPIED, name)

    def unsubscribed(self, name: str) -> None:
        """A topic subscription to `name` ended: vacated if it was the last."""
        endpoints = self._watching(name)
        if endpoints:
            count = self._occupancy[name] - 1
            if count:
                self._occupancy[name] = count
                return
            del self._occupancy[name]
            self._tell(endpoints, VACATED, name)

    def _watching(self, name: str) -> tuple[Endpoint, ...]:
        """The endpoints whose pattern matches topic `name` (every one, not the first)."""
        if not self._patterns:
            return ()
        endpoints = self._endpoints_of.get(name)
        if endpoints is None:
            words = name.split(".")
            endpoints = tuple(e for e, pattern in self._patterns if pattern_matches(pattern, words))
            if len(self._endpoints_of) >= RULE_CACHE_SIZE:
                self._endpoints_of.clear()
            self._endpoints_of[name] = endpoints
        return endpoints

    def _tell(self, endpoints: tuple[Endpoint, ...], event_name: str, name: str) -> None:
        event = Event(
            id=f"{self._boot}-{next(self._ids)}",
            name=event_name,
            topic=f"/topic/{name}",
            time_ms=int(self._wall_time() * 1000),
        )
        for endpoint in endpoints:
            endpoint.add(event)

    def stats(self) -> dict[str, int]:
        """What `/stats` shows: events waiting, delivered, POSTs failed, events dropped."""
        return {
            "queued": sum(endpoint.queued for endpoint in self.endpoints),
            "delivered": self.counters.delivered,
            "failed_attempts": self.counters.failed_attempts,
            "dropped": self.counters.dropped,
        }
