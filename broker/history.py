"""Topic history, without I/O: the last messages of the topics `[[history]]` names, numbered
by offset, so that a subscriber back from a drop gets what it missed before new messages.

RabbitMQ streams' vocabulary: every kept message carries `x-stream-offset: <n>`, and a
SUBSCRIBE with `x-stream-offset: offset=<n>` starts at offset n, one with `x-stream-offset:
first` at the oldest message kept. A topic's offsets start at
the broker's wall clock in microseconds when it first kept a message, so an offset from
before a restart (or from a history since forgotten) is older than anything kept: the
subscriber is told "too old" instead of being handed the wrong messages.
"""

from __future__ import annotations

import sys
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from broker.config import History
from broker.frames import decimal

# The SUBSCRIBE header asking to resume, and the MESSAGE header giving each message's offset.
OFFSET_HEADER = "x-stream-offset"
# On the RECEIPT of a resuming SUBSCRIBE: what became of the resume (see Resume).
RESUME_HEADER = "x-stream-resume"
OFFSET_PREFIX = "offset="
# Where a subscriber that knows no offset starts: the oldest message kept (a page that came with
# its state, which drops what it already has).
FIRST = "first"
# Offsets are the broker's wall clock in microseconds: 18 digits is more than enough.
MAX_OFFSET_DIGITS = 18
# Topic names whose rule was looked up, kept until there are this many (then forgotten).
RULE_CACHE_SIZE = 10_000
# What a log's entry holds besides its message: the tuple, the offset, the time and the size.
ENTRY_BYTES = sum(map(sys.getsizeof, ((0, 0.0, 0, None), 1 << 60, 0.0, 1 << 20)))

Message = TypeVar("Message")
# Where a resume starts: an offset, or FIRST.
Start = int | Literal["first"]


class Resume:
    """The values of RESUME_HEADER: `resumed` (what was missed came before the RECEIPT),
    `too-old` (the gap is not kept, or its replay did not fit the subscriber's output:
    reload), `no-history` (this topic keeps none: reload)."""

    RESUMED = "resumed"
    TOO_OLD = "too-old"
    NO_HISTORY = "no-history"


def parse_offset(value: str) -> Start | None:
    """`offset=<n>` → n, n at most MAX_OFFSET_DIGITS ASCII digits; `first` → FIRST; anything
    else is None (the caller says what it expected)."""
    if value == FIRST:
        return FIRST
    if not value.startswith(OFFSET_PREFIX):
        return None
    return decimal(value.removeprefix(OFFSET_PREFIX), max_digits=MAX_OFFSET_DIGITS)


def pattern_matches(pattern: list[str], words: list[str]) -> bool:
    """Whether a topic name's words match a pattern's (`*` one word, `#` zero or more)."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(pattern_matches(rest, words[skip:]) for skip in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and pattern_matches(rest, words[1:])


class TopicLog(Generic[Message]):
    """One topic's kept messages, oldest first, and the offset its next message gets."""

    __slots__ = ("rule", "next_offset", "entries", "bytes", "waiters")

    def __init__(self, rule: History, first_offset: int) -> None:
        self.rule = rule
        self.next_offset = first_offset
        # (offset, monotonic time kept, size, message)
        self.entries: deque[tuple[int, float, int, Message]] = deque()
        self.bytes = 0
        # HTTP subscribers waiting for the next message (broker.http_subscribers): each is
        # called once, at the next append, and forgotten. A dict, so one that stops waiting
        # leaves in O(1) whatever the number of others.
        self.waiters: dict[Callable[[], object], None] = {}

    def append(self, message: Message, *, size: int, now: float) -> None:
        """Keep the message (`size`: the bytes it holds) under `next_offset`, then drop what
        the limits no longer allow."""
        size += ENTRY_BYTES
        self.entries.append((self.next_offset, now, size, message))
        self.next_offset += 1
        self.bytes += size
        while self.entries and (
            len(self.entries) > self.rule.max_messages or self.bytes > self.rule.max_bytes_per_topic
        ):
            self.bytes -= self.entries.popleft()[2]
        self.expire(now)
        if self.waiters:
            waiters, self.waiters = self.waiters, {}
            for wake in waiters:
                wake()

    def expire(self, now: float) -> None:
        """Drop messages older than max_age_seconds."""
        max_age = self.rule.max_age_seconds
        if max_age is None:
            return
        while self.entries and self.entries[0][1] < now - max_age:
            self.bytes -= self.entries.popleft()[2]

    def since(self, offset: Start, now: float) -> list[Message] | None:
        """The messages from `offset` on (every one kept, from FIRST), or None when some of
        them are no longer kept (or the offset was never given)."""
        self.expire(now)
        if offset == FIRST:
            return [entry[3] for entry in self.entries]
        first = self.entries[0][0] if self.entries else self.next_offset
        if not first <= offset <= self.next_offset:
            return None
        return [entry[3] for entry in self.entries if entry[0] >= offset]


class Histories(Generic[Message]):
    """Every topic's log, made when a topic matching a `[[history]]` pattern is published to;
    each pattern keeps at most its max_topics logs, forgetting the least recently published.

    A topic read (by an HTTP subscriber) before anything is published to it gets an empty log
    of its own kind, awaited: it tells the reader the offset the first message will get, and
    becomes the topic's history once one comes. Awaited logs are bounded apart (max_topics
    per pattern too), so reads of topics nobody publishes to never evict a real history."""

    def __init__(
        self,
        rules: tuple[History, ...],
        *,
        now: Callable[[], float],
        wall_time: Callable[[], float],
    ) -> None:
        self._rules = [(rule, rule.pattern.removeprefix("/topic/").split(".")) for rule in rules]
        self._now = now
        self._wall_time = wall_time
        self._logs: dict[History, OrderedDict[str, TopicLog[Message]]] = {
            rule: OrderedDict() for rule in rules
        }
        self._awaited: dict[History, OrderedDict[str, TopicLog[Message]]] = {
            rule: OrderedDict() for rule in rules
        }
        self._rule_of: dict[str, History | None] = {}

    def rule(self, name: str) -> History | None:
        """The first `[[history]]` rule whose pattern matches topic `name`, if any."""
        if not self._rules:
            return None
        if name in self._rule_of:
            return self._rule_of[name]
        words = name.split(".")
        found = next((rule for rule, kept in self._rules if pattern_matches(kept, words)), None)
        if len(self._rule_of) >= RULE_CACHE_SIZE:
            self._rule_of.clear()
        self._rule_of[name] = found
        return found

    def log_to_append(self, name: str) -> TopicLog[Message] | None:
        """The log a message published on topic `name` goes into (made if new, or the one
        its readers await), if kept."""
        rule = self.rule(name)
        if rule is None:
            return None
        logs = self._logs[rule]
        log = logs.get(name)
        if log is not None:
            logs.move_to_end(name)
            return log
        log = self._awaited[rule].pop(name, None) or self._new_log(rule)
        logs[name] = log
        if len(logs) > rule.max_topics:
            logs.popitem(last=False)
        return log

    def log_to_read(self, name: str) -> TopicLog[Message] | None:
        """The log an HTTP subscriber of topic `name` reads and waits on, if kept: awaited
        if nothing was published to it yet (see the class), so that a reader who comes
        before the topic's first message knows the offset that message will get."""
        rule = self.rule(name)
        if rule is None:
            return None
        log = self._logs[rule].get(name)
        if log is not None:
            return log
        awaited = self._awaited[rule]
        log = awaited.get(name)
        if log is None:
            log = awaited[name] = self._new_log(rule)
            if len(awaited) > rule.max_topics:
                awaited.popitem(last=False)
        return log

    def _new_log(self, rule: History) -> TopicLog[Message]:
        return TopicLog(rule, int(self._wall_time() * 1_000_000))

    def stats(self) -> dict[str, int]:
        """What `/stats` shows of the history: the topics kept, their messages and bytes."""
        logs = [log for kept in self._logs.values() for log in kept.values()]
        return {
            "topics": len(logs),
            "messages": sum(len(log.entries) for log in logs),
            "bytes": sum(log.bytes for log in logs),
        }

    def since(self, name: str, offset: Start) -> tuple[str, list[Message]]:
        """A resume of topic `name` at `offset`: its Resume value and the messages to replay.
        FIRST on a topic that has kept no message (since the broker started, or since it was
        forgotten) is too old: what came before is unknown."""
        rule = self.rule(name)
        if rule is None:
            return Resume.NO_HISTORY, []
        log = self._logs[rule].get(name)
        if log is None and offset != FIRST:
            log = self._awaited[rule].get(name)
        missed = None if log is None else log.since(offset, self._now())
        if missed is None:
            return Resume.TOO_OLD, []
        return Resume.RESUMED, missed
