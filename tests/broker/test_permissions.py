"""A permission glob covers a wildcard subscription only if it covers every topic it matches."""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st
from topic_reference import reference_match

from broker.permissions import glob_covers_topic_pattern


@pytest.mark.parametrize(
    ("glob", "pattern", "covered"),
    [
        ("/topic/games.42.*", "games.42.*", True),
        ("/topic/games.42.*", "games.42.#", False),  # games.42 itself
        ("/topic/games.42.*", "games.42.x.#", True),
        ("/topic/room.?", "room.#", False),  # room.secret.deep
        ("/topic/room.?", "room.*", False),  # room.ab
        ("/topic/*", "#", True),
        ("*", "a.*.b", True),
        ("/topic/public.*", "public.*.#", True),
        ("/topic/[a-c].*", "b.*", True),
        ("/topic/[a-c].*", "*.x", False),
        ("/topic/[!.]*", "*", False),  # the empty word
    ],
)
def test_glob_covers_a_pattern_only_if_it_covers_all_it_matches(
    glob: str, pattern: str, covered: bool
) -> None:
    assert glob_covers_topic_pattern(glob, "/topic/", pattern) is covered


def names(length: int) -> list[str]:
    return [
        "".join(chars) for n in range(length + 1) for chars in itertools.product("abc.", repeat=n)
    ]


NAMES = names(6)


@given(
    glob=st.lists(st.sampled_from(["a", "b", ".", "*", "?", "[ab]", "[!a]"]), max_size=5).map(
        "".join
    ),
    pattern=st.lists(st.sampled_from(["a", "b", "*", "#"]), min_size=1, max_size=3),
)
def test_cover_agrees_with_trying_every_short_topic(glob: str, pattern: list[str]) -> None:
    matched = [name for name in NAMES if reference_match(pattern, name.split("."))]
    escapes = [name for name in matched if not fnmatchcase(name, glob)]
    assert glob_covers_topic_pattern(glob, "", ".".join(pattern)) == (not escapes)
