"""Destination names and topic routing with RabbitMQ's wildcards.

`/topic/<name>` and `/queue/<name>`; a name is words separated by dots. In a topic
subscription `*` stands for exactly one word and `#` for zero or more. `/presence/<name>`
carries who is announced on `/topic/<name>` (see `broker.presence`); only the broker sends there.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

TOPIC = "/topic/"
QUEUE = "/queue/"
PRESENCE = "/presence/"
MAX_NAME_BYTES = 255  # an AMQP routing key's limit, so names also work on RabbitMQ
ROUTE_CACHE_SIZE = 10_000

Subscriber = TypeVar("Subscriber", bound=Hashable)


class DestinationError(ValueError):
    """A destination the broker cannot route; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class Destination:
    kind: Literal["topic", "queue", "presence"]
    name: str

    @property
    def is_pattern(self) -> bool:
        return any(word in ("*", "#") for word in self.name.split("."))


def parse_destination(text: str) -> Destination:
    """`/topic/games.42.status` → Destination("topic", "games.42.status")."""
    if text.startswith(TOPIC):
        kind: Literal["topic", "queue", "presence"] = "topic"
        name = text[len(TOPIC) :]
    elif text.startswith(QUEUE):
        kind = "queue"
        name = text[len(QUEUE) :]
    elif text.startswith(PRESENCE):
        kind = "presence"
        name = text[len(PRESENCE) :]
    else:
        raise DestinationError(
            f"destination {text!r} must start with {TOPIC} (every subscriber gets each "
            f"message), {QUEUE} (one subscriber gets each message) or {PRESENCE} (who is "
            "announced on a topic)"
        )
    if not name:
        raise DestinationError(f"destination {text!r} has no name after the prefix")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise DestinationError(f"destination {text[:60]!r}… is longer than {MAX_NAME_BYTES} bytes")
    return Destination(kind, name)


class _Node(Generic[Subscriber]):
    """One word of the subscribed patterns: the words that may follow it, and the
    subscribers whose pattern ends here."""

    __slots__ = ("children", "subscribers", "is_hash")

    def __init__(self, *, is_hash: bool = False) -> None:
        self.children: dict[str, _Node[Subscriber]] = {}
        self.subscribers: dict[Subscriber, None] = {}
        self.is_hash = is_hash


def _with_hashes(nodes: set[_Node[Subscriber]]) -> set[_Node[Subscriber]]:
    """`nodes` plus every `#` reachable from them by matching zero words."""
    pending = list(nodes)
    while pending:
        node = pending.pop().children.get("#")
        if node is not None and node not in nodes:
            nodes.add(node)
            pending.append(node)
    return nodes


class TopicRouter(Generic[Subscriber]):
    """Who gets a message published on a topic name: exact names by dict lookup, wildcard
    patterns through a trie of their words, the combined answer cached per name until
    subscriptions change.

    The trie is walked one topic word at a time with the set of nodes still matching, as
    RabbitMQ does, so a route costs at most (topic words × trie nodes) whatever the patterns;
    backtracking over `#` was exponential (`#.#.#…#.z` against a 40-word topic).
    """

    def __init__(self) -> None:
        self._exact: dict[str, dict[Subscriber, None]] = {}
        self._patterns: dict[str, int] = {}
        self._root: _Node[Subscriber] = _Node()
        self._routes: dict[str, tuple[Subscriber, ...]] = {}

    def add(self, name: str, subscriber: Subscriber) -> None:
        words = name.split(".")
        if "*" in words or "#" in words:
            node = self._root
            for word in words:
                child = node.children.get(word)
                if child is None:
                    child = node.children[word] = _Node(is_hash=word == "#")
                node = child
            if subscriber not in node.subscribers:
                node.subscribers[subscriber] = None
                self._patterns[name] = self._patterns.get(name, 0) + 1
        else:
            self._exact.setdefault(name, {})[subscriber] = None
        self._routes.clear()

    def remove(self, name: str, subscriber: Subscriber) -> None:
        if name in self._patterns:
            words = name.split(".")
            path = [self._root]
            for word in words:
                path.append(path[-1].children[word])
            if subscriber in path[-1].subscribers:
                del path[-1].subscribers[subscriber]
                self._patterns[name] -= 1
                if not self._patterns[name]:
                    del self._patterns[name]
            for word, parent, node in zip(
                reversed(words), reversed(path[:-1]), reversed(path[1:]), strict=True
            ):
                if node.subscribers or node.children:
                    break
                del parent.children[word]
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
                for node in self._matching_nodes(name.split(".")):
                    subscribers.update(node.subscribers)
            route = tuple(subscribers)
            if len(self._routes) >= ROUTE_CACHE_SIZE:
                self._routes.clear()
            self._routes[name] = route
        return route

    def _matching_nodes(self, words: list[str]) -> set[_Node[Subscriber]]:
        """The trie nodes whose patterns match all of `words`."""
        nodes = _with_hashes({self._root})
        for word in words:
            following: set[_Node[Subscriber]] = set()
            for node in nodes:
                if node.is_hash:
                    following.add(node)  # `#` takes this word too
                for key in (word, "*"):
                    child = node.children.get(key)
                    if child is not None and not child.is_hash:
                        following.add(child)
            if not following:
                return following
            nodes = _with_hashes(following)
        return nodes

    def counts(self) -> dict[str, int]:
        """Subscribers per subscribed name or pattern."""
        counts = {name: len(table) for name, table in self._exact.items()}
        counts.update(self._patterns)
        return counts
