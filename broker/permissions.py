"""Whether a permission glob covers every topic a wildcard subscription can receive.

Permissions are `fnmatch` globs over full destinations (`*` any run of characters, `?` one
character, `[…]` a class). A subscription to `/topic/room.#` receives `/topic/room` and
`/topic/room.a.b`, so matching the glob against the subscription's text is not enough:
`/topic/room.?` matches the text `/topic/room.#` but not `/topic/room.secret.deep`. Here both
sides are automata over characters, and the subscription is allowed only if no string that
the subscription matches escapes the glob.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from fnmatch import fnmatchcase, translate

# A product of more states than this is refused rather than explored: no real glob or
# subscription comes near it, and a refusal is safe.
MAX_STATES = 10_000
# Decisions kept, per grant set and wildcard subscription: every player of a game holds the
# same grants and subscribes to the same few patterns.
DECISIONS = 16_384


@functools.lru_cache(maxsize=1024)
def _glob_tokens(glob: str) -> tuple[str | re.Pattern[str], ...]:
    """`*`, `?`, a literal character, or a compiled one-character class, as fnmatch reads them."""
    tokens: list[str | re.Pattern[str]] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "[":
            j = i
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j < n:
                tokens.append(re.compile(translate(glob[i - 1 : j + 1])))
                i = j + 1
                continue
        tokens.append(char)
    return tuple(tokens)


def _glob_step(
    tokens: tuple[str | re.Pattern[str], ...], states: frozenset[int], char: str
) -> frozenset[int]:
    """The glob positions reachable from `states` by reading `char` (then past any `*`)."""
    following: set[int] = set()
    for state in states:
        if state == len(tokens):
            continue
        token = tokens[state]
        if token == "*":
            following.add(state)
        elif token == "?" or token == char or (isinstance(token, re.Pattern) and token.match(char)):
            following.add(state + 1)
    return _glob_stars(tokens, following)


def _glob_stars(tokens: tuple[str | re.Pattern[str], ...], states: set[int]) -> frozenset[int]:
    """`states` plus the positions after each `*`, which may match nothing."""
    pending = list(states)
    while pending:
        state = pending.pop()
        if state < len(tokens) and tokens[state] == "*" and state + 1 not in states:
            states.add(state + 1)
            pending.append(state + 1)
    return frozenset(states)


# States of a topic subscription over characters. `words` are the subscription's words;
# ("word", i, j): j characters into literal word i; ("any", i): inside a word that `*` at i
# or `#` at i takes; ("next", i): at the start of a word, pattern word i to match it.
State = tuple[str, int, int]


def _topic_start(words: list[str], state: State) -> set[State]:
    """A word begins at pattern word `state[1]`: what may take it (`#` may also take none)."""
    reached: set[State] = set()
    index = state[1]
    while index < len(words):
        if words[index] == "#":
            reached.add(("any", index, 0))
            index += 1  # `#` matching no word: the next pattern word takes this one
            continue
        reached.add(("any", index, 0) if words[index] == "*" else ("word", index, 0))
        break
    return reached


def _topic_accepts(words: list[str], state: State) -> bool:
    """The topic may end here: the word being read is complete and only `#`s are left."""
    kind, index, progress = state
    if kind == "word" and progress < len(words[index]):
        return False
    return all(word == "#" for word in words[index + 1 :])


def _topic_moves(words: list[str], state: State) -> list[tuple[str | None, set[State]]]:
    """The characters the subscription may read in `state` (None: any but a dot), each with
    where it leads."""
    kind, index, progress = state
    moves: list[tuple[str | None, set[State]]] = []
    if kind == "any":
        moves = [(None, {state})]
    elif progress < len(words[index]):
        moves = [(words[index][progress], {("word", index, progress + 1)})]
    if kind == "any" or progress == len(words[index]):
        # The word ends: `#` may take the next word too, else the next pattern word does.
        after = index if words[index] == "#" else index + 1
        moves.append((".", _topic_start(words, ("next", after, 0))))
    return moves


@functools.lru_cache(maxsize=4096)
def glob_covers_topic_pattern(glob: str, prefix: str, pattern: str) -> bool:
    """Whether every destination `prefix + name`, for each topic name `pattern` matches
    (`*` one word, `#` zero or more, words separated by dots), matches `glob`."""
    tokens = _glob_tokens(glob)
    words = pattern.split(".")
    # Inside a wildcard word, characters that no glob literal or class tells apart form runs
    # between these boundaries, so one character of each run stands for all of it.
    # Surrogates cannot occur in a decoded destination.
    mentioned = {ord(char) for char in glob}
    boundaries = {0, 0xD800, 0xE000} | mentioned | {code + 1 for code in mentioned}
    word_chars = [
        chr(code)
        for code in sorted(boundaries)
        if code <= 0x10FFFF and not 0xD800 <= code < 0xE000 and code != ord(".")
    ]
    steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}
    word_steps: dict[frozenset[int], set[frozenset[int]]] = {}

    def step(states: frozenset[int], char: str | None) -> set[frozenset[int]]:
        """The glob's states after `char`, or after each character a wildcard word may hold."""
        if char is None:
            following = word_steps.get(states)
            if following is None:
                following = word_steps[states] = {step_one(states, c) for c in word_chars}
            return following
        return {step_one(states, char)}

    def step_one(states: frozenset[int], char: str) -> frozenset[int]:
        following = steps.get((states, char))
        if following is None:
            following = steps[states, char] = _glob_step(tokens, states, char)
        return following

    glob_states = _glob_stars(tokens, {0})
    for char in prefix:
        glob_states = step_one(glob_states, char)
    start = [(topic, glob_states) for topic in _topic_start(words, ("next", 0, 0))]
    seen = set(start)
    queue = deque(start)
    while queue:
        topic, states = queue.popleft()
        if not states:
            return False  # the glob can no longer match, and the subscription goes on
        if _topic_accepts(words, topic) and len(tokens) not in states:
            return False
        for char, topics in _topic_moves(words, topic):
            for following in step(states, char):
                for next_topic in topics:
                    pair = (next_topic, following)
                    if pair not in seen:
                        if len(seen) >= MAX_STATES:
                            return False
                        seen.add(pair)
                        queue.append(pair)
    return True


@functools.lru_cache(maxsize=DECISIONS)
def globs_cover_topic_pattern(globs: tuple[str, ...], prefix: str, pattern: str) -> bool:
    """Whether one of `globs` covers every destination `prefix + name` that `pattern`
    matches, decided once per grant set and pattern, so that a SUBSCRIBE repeated (by one
    client, or by every holder of the same grants) costs one lookup, not one exploration per
    glob. Only globs that match one such destination are explored: a glob that misses one
    cannot cover them all, and most of a token's globs name other games."""
    example = prefix + ".".join("x" if word in ("*", "#") else word for word in pattern.split("."))
    return any(
        glob_covers_topic_pattern(glob, prefix, pattern)
        for glob in globs
        if fnmatchcase(example, glob)
    )
