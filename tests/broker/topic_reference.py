"""RabbitMQ's topic matching rule, written the slow and obvious way, for tests to compare
the broker's router and permission checks against."""

from __future__ import annotations


def reference_match(pattern: list[str], words: list[str]) -> bool:
    """RabbitMQ's rule, by dynamic programming: `*` one word, `#` zero or more."""
    matches = [[False] * (len(words) + 1) for _ in range(len(pattern) + 1)]
    matches[len(pattern)][len(words)] = True
    for p in range(len(pattern) - 1, -1, -1):
        for w in range(len(words), -1, -1):
            if pattern[p] == "#":
                matches[p][w] = matches[p + 1][w] or (w < len(words) and matches[p][w + 1])
            elif w < len(words) and pattern[p] in ("*", words[w]):
                matches[p][w] = matches[p + 1][w + 1]
    return matches[0][0]
