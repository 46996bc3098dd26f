"""Destination names and RabbitMQ-style topic wildcards."""

from __future__ import annotations

import pytest

from broker.destinations import Destination, DestinationError, TopicRouter, parse_destination


def test_parse_topic_and_queue() -> None:
    assert parse_destination("/topic/games.42.status") == Destination("topic", "games.42.status")
    assert parse_destination("/queue/jobs") == Destination("queue", "jobs")


@pytest.mark.parametrize("text", ["/exchange/x", "topic/x", "/topic/", "/queue/" + "x" * 256])
def test_unroutable_destinations_are_refused(text: str) -> None:
    with pytest.raises(DestinationError):
        parse_destination(text)


def test_router_matches_exact_names_and_patterns_once_each() -> None:
    router: TopicRouter[str] = TopicRouter()
    router.add("games.1.status", "exact")
    router.add("games.*.status", "star")
    router.add("games.#", "hash")
    router.add("#", "everything")
    assert set(router.route("games.1.status")) == {"exact", "star", "hash", "everything"}
    assert set(router.route("games.2.players")) == {"hash", "everything"}
    router.remove("#", "everything")
    assert set(router.route("games.2.players")) == {"hash"}
    assert router.counts() == {"games.1.status": 1, "games.*.status": 1, "games.#": 1}
