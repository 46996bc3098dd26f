"""Presence: who is announced on which topic, as data the broker keeps and no I/O.

A SUBSCRIBE to `/topic/<name>` with the header `presence:announce` announces its user (the
token's subject or the login, never a name the client picks) on that topic. Subscribers of
`/presence/<name>` (watchers) first get a snapshot of who is there, then a join when a user's
first announced subscription begins and a leave when its last one ends: a user with two
connections at once (a token being renewed) is one presence and does not flap.

A watcher's destination is not under `/topic/`, so a read grant on a topic (or a `*` pattern
over it) never grants its presence: that takes the `watch` permission, and announcing takes
`announce` (see `broker.auth.Authority`).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Generic, TypeVar

ANNOUNCE_HEADER = "presence"
ANNOUNCE = "announce"
EVENT_HEADER = "presence-event"
CONTENT_TYPE = "application/json"

Subscriber = TypeVar("Subscriber", bound=Hashable)


def event_body(event: str, user: str) -> bytes:
    """A join or leave: `{"event": "join", "user": "player:7"}`."""
    return json.dumps({"event": event, "user": user}).encode()


def snapshot_body(users: list[str]) -> bytes:
    """Who is here when a watcher subscribes: `{"event": "snapshot", "users": [...]}`."""
    return json.dumps({"event": "snapshot", "users": users}).encode()


class Presence(Generic[Subscriber]):
    """Announced subscriptions counted per user and topic, and each topic's watchers."""

    def __init__(self) -> None:
        # topic name → user → how many of its subscriptions announce it there
        self._counts: dict[str, dict[str, int]] = {}
        # announced subscription → (topic name, user), so ending one needs no lookup by user
        self._announced: dict[Subscriber, tuple[str, str]] = {}
        self._watchers: dict[str, dict[Subscriber, None]] = {}

    def announce(self, subscriber: Subscriber, topic: str, user: str) -> bool:
        """Count one more announced subscription; True if `user` just joined `topic`."""
        self._announced[subscriber] = (topic, user)
        users = self._counts.setdefault(topic, {})
        users[user] = users.get(user, 0) + 1
        return users[user] == 1

    def withdraw(self, subscriber: Subscriber) -> tuple[str, str] | None:
        """A subscription ended: (topic, user) if that was its user's last one there."""
        announced = self._announced.pop(subscriber, None)
        if announced is None:
            return None
        topic, user = announced
        users = self._counts[topic]
        users[user] -= 1
        if users[user]:
            return None
        del users[user]
        if not users:
            del self._counts[topic]
        return announced

    def users(self, topic: str) -> list[str]:
        """Who is announced on `topic`, in the order they joined."""
        return list(self._counts.get(topic, ()))

    def watch(self, subscriber: Subscriber, topic: str) -> None:
        self._watchers.setdefault(topic, {})[subscriber] = None

    def unwatch(self, subscriber: Subscriber, topic: str) -> None:
        watchers = self._watchers.get(topic, {})
        watchers.pop(subscriber, None)
        if not watchers:
            self._watchers.pop(topic, None)

    def watchers(self, topic: str) -> tuple[Subscriber, ...]:
        """A copy: a watcher cut while an event goes out leaves during the loop."""
        return tuple(self._watchers.get(topic, ()))

    def counts(self) -> dict[str, int]:
        """Watchers per topic, for `/stats`."""
        return {topic: len(watchers) for topic, watchers in self._watchers.items()}
