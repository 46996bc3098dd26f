"""Destination names and topic routing with RabbitMQ's wildcards.

`/topic/<name>` and `/queue/<name>`; a name is words separated by dots. In a topic
subscription `*` stands for exactly one word and `#` for zero or more.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

TOPIC = "/topic/"
QUEUE = "/queue/"
MAX_NAME_BYTES = 255  # an AMQP routing key's limit, so names also work on RabbitMQ
ROUTE_CACHE_SIZE = 10_000

Subscriber = TypeVar("Subscriber", bound=Hashable)


class DestinationError(ValueError):
    """A destination the broker cannot route; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class Destination:
    kind: Literal["topic", "queue"]
    name: str

    @property
    def is_pattern(self) -> bool:
        return any(word in ("*", "#") for word in self.name.split("."))


def parse_destination(text: str) -> Destination:
    """`/topic/games.42.status` → Destination("topic", "games.42.status")."""
    if text.startswith(TOPIC):
        kind: Literal["topic", "queue"] = "topic"
        name = text[len(TOPIC) :]
    elif text.startswith(QUEUE):
        kind = "queue"
        name = text[len(QUEUE) :]
    else:
        raise DestinationError(
            f"destination {text!r} must start with {TOPIC} (every subscriber gets each "
            f"message) or {QUEUE} (one subscriber gets each message)"
        )
    if not name:
        raise DestinationError(f"destination {text!r} has no name after the prefix")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise DestinationError(f"destination {text[:60]!r}… is longer than {MAX_NAME_BYTES} bytes")
    return Destination(kind, name)


def topic_matches(pattern: Sequence[str], words: Sequence[str]) -> bool:
    """Whether a dotted name (as words) matches a pattern with `*` and `#` (as words)."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(topic_matches(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and topic_matches(rest, words[1:])


class TopicRouter(Generic[Subscriber]):
    """Who gets a message published on a topic name: exact names by dict lookup, wildcard
    patterns by matching, the combined answer cached per name until subscriptions change."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[Subscriber, None]] = {}
        self._patterns: dict[str, tuple[tuple[str, ...], dict[Subscriber, None]]] = {}
        self._routes: dict[str, tuple[Subscriber, ...]] = {}

    def add(self, name: str, subscriber: Subscriber) -> None:
        words = name.split(".")
        if "*" in words or "#" in words:
            self._patterns.setdefault(name, (tuple(words), {}))[1][subscriber] = None
        else:
            self._exact.setdefault(name, {})[subscriber] = None
        self._routes.clear()

    def remove(self, name: str, subscriber: Subscriber) -> None:
        if name in self._patterns:
            table = self._patterns[name][1]
            table.pop(subscriber, None)
            if not table:
                del self._patterns[name]
        elif name in self._exact:
            table = self._exact[name]
            table.pop(subscriber, None)
            if not table:
                del self._exact[name]
        self._routes.clear()

    def route(self, name: str) -> tuple[Subscriber, ...]:
        """Every subscriber whose name or pattern matches `name`, each once."""
        route = self._routes.get(name)
        if route is None:
            subscribers = dict(self._exact.get(name, {}))
            if self._patterns:
                words = name.split(".")
                for pattern, table in self._patterns.values():
                    if topic_matches(pattern, words):
                        subscribers.update(table)
            route = tuple(subscribers)
            if len(self._routes) >= ROUTE_CACHE_SIZE:
                self._routes.clear()
            self._routes[name] = route
        return route

    def counts(self) -> dict[str, int]:
        """Subscribers per subscribed name or pattern."""
        counts = {name: len(table) for name, table in self._exact.items()}
        counts.update({name: len(table) for name, (_, table) in self._patterns.items()})
        return counts
