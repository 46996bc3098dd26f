"""Destination names and RabbitMQ-style topic wildcards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from topic_reference import reference_match

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


@pytest.mark.timeout(10)
def test_many_hashes_against_a_long_topic_route_at_once() -> None:
    router: TopicRouter[str] = TopicRouter()
    router.add(".".join(["#"] * 15 + ["z"]), "hashes")
    assert router.route(".".join(["w"] * 40)) == ()
    assert router.route(".".join(["w"] * 40 + ["z"])) == ("hashes",)


WORDS = st.sampled_from(["a", "b", "c"])


@given(
    patterns=st.lists(st.lists(st.sampled_from(["a", "b", "*", "#"]), min_size=1, max_size=6)),
    topic=st.lists(WORDS, min_size=1, max_size=8),
)
def test_router_agrees_with_the_wildcard_rule(patterns: list[list[str]], topic: list[str]) -> None:
    router: TopicRouter[str] = TopicRouter()
    for pattern in patterns:
        router.add(".".join(pattern), ".".join(pattern))
    expected = {".".join(p) for p in patterns if reference_match(p, topic)}
    assert set(router.route(".".join(topic))) == expected


@given(patterns=st.lists(st.lists(st.sampled_from(["a", "*", "#"]), min_size=1, max_size=4)))
def test_removing_every_subscription_empties_the_router(patterns: list[list[str]]) -> None:
    router: TopicRouter[int] = TopicRouter()
    for index, pattern in enumerate(patterns):
        router.add(".".join(pattern), index)
    for index, pattern in enumerate(patterns):
        router.remove(".".join(pattern), index)
    assert router.counts() == {} and router.route("a.a") == ()
