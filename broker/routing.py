"""Routing between sessions, without I/O: topic fan-out, queues in a coilmq store, the
sessions' timers and the stats.

Transports create sessions with `open_session()` and call `tick()` when `next_deadline()`
comes; nothing here touches a socket or sleeps, so tests drive it with bytes and a fake clock.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import secrets
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from pathlib import Path

from broker.auth import Authentication, Verifier
from broker.config import BrokerConfig, Store
from broker.destinations import Destination, TopicRouter, parse_destination
from broker.frames import encode_headers
from broker.history import OFFSET_HEADER, Histories, Resume
from broker.presence import CONTENT_TYPE, EVENT_HEADER, Presence, event_body, snapshot_body
from broker.session import (
    ARRIVAL_HEADER,
    CONNECTING,
    MESSAGE_ID_PREFIXES,
    Counters,
    FlowGate,
    Outcome,
    ProtocolError,
    Session,
    Subscription,
)
from broker.stores import MemoryStore, SqliteStore, StoredMessage
from broker.webhooks import Webhooks


def open_store(store: Store) -> MemoryStore | SqliteStore:
    """Queues in memory, or in a SQLite file in a directory (durable across crashes)."""
    if store.kind == "sqlite":
        assert store.directory is not None
        Path(store.directory).mkdir(parents=True, exist_ok=True)
        return SqliteStore(Path(store.directory) / "queues.sqlite3")
    return MemoryStore()


class TopicMessage:
    """A message on its way to many subscribers: its headers and body are encoded once per
    STOMP version, and each subscriber gets the same bytes after its own short prefix.

    A message a topic's history keeps is counted at `held_bytes` against
    max_bytes_per_topic: everything it holds, each STOMP version's tail included, which is
    why a tail its fan-out did not make is not kept afterwards (`tail(keep=False)`)."""

    __slots__ = ("message_id", "ack_line", "_headers", "_body", "_tails")

    def __init__(self, message_id: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.message_id = message_id
        self.ack_line = f"ack:{message_id}\n".encode()
        self._headers = headers
        self._body = body
        self._tails: dict[str, bytes] = {}

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Its headers, for the HTTP subscribers (broker.http_subscribers), which send no
        STOMP frame."""
        return self._headers

    @property
    def body(self) -> bytes:
        return self._body

    def tail(self, version: str, *, keep: bool = True) -> bytes:
        """Its headers and body as a MESSAGE for `version` ends, kept for the next subscriber
        unless `keep` is false."""
        tail = self._tails.get(version)
        if tail is None:
            tail = b"".join((encode_headers(self._headers, version), b"\n", self._body, b"\x00"))
            if keep:
                self._tails[version] = tail
        return tail

    @property
    def held_bytes(self) -> int:
        """The memory this message holds: its body, headers, ids and the tails made so far."""
        headers = sum(
            sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
            for pair in self._headers
        )
        parts = (self, self.message_id, self.ack_line, self._headers, self._body, self._tails)
        return (
            headers + sum(map(sys.getsizeof, parts)) + sum(map(sys.getsizeof, self._tails.values()))
        )


class Broker:
    """Every session of the process and the routes between them."""

    def __init__(
        self,
        config: BrokerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        verifier: Verifier | None = None,
    ) -> None:
        self.config = config
        self.now = clock
        self.wall_time = wall_clock
        self.counters = Counters()
        self._started = clock()
        self._boot = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._sessions: dict[Session, None] = {}
        # Sessions that ended while their socket is still open (output being written, a
        # linger): they count in /stats and against max_connections until it is gone.
        self._closing: dict[Session, None] = {}
        # Timer heap of (deadline, sequence, session): tick() visits only sessions that are
        # due, whatever the number of idle ones. An entry whose session has since been given
        # an earlier one (see Session.timer_at) is skipped.
        self._timers: list[tuple[float, int, Session]] = []
        self._timer_sequence = itertools.count()
        # Sessions waiting for their CONNECT, oldest first: one timeout for all keeps them in
        # deadline order, and a session costs this queue 8 bytes, not a heap entry that stays
        # until its deadline long after the CONNECT came. Connected ones leave it lazily.
        self._awaiting_connect: deque[Session] = deque()
        self.on_earlier_deadline: Callable[[], object] | None = None
        self._ticking = False
        self._topics: TopicRouter[Subscription] = TopicRouter()
        self.presence: Presence[Subscription] = Presence()
        self._queues: dict[str, list[Subscription]] = {}
        # Queues bound to topic patterns (`[[bindings]]`), by the topics they match.
        self._bindings: TopicRouter[str] = TopicRouter()
        for binding in config.bindings:
            self._bindings.add(parse_destination(binding.pattern).name, binding.queue)
        self._turns: dict[str, int] = {}
        # Queues above limits.queue_high_water_messages while consumed: their publishers wait.
        self._queue_gates: dict[str, FlowGate] = {}
        self.store = open_store(config.store)
        self.history: Histories[TopicMessage] = Histories(
            config.history, now=clock, wall_time=wall_clock
        )
        self.webhooks = Webhooks(config.webhooks, wall_time=wall_clock)
        self.authentication = Authentication(config, wall_clock=wall_clock, verifier=verifier)

    # Sessions

    def open_session(
        self, *, transport: str, peer: str, on_output: Callable[[], object]
    ) -> Session:
        """A new connection's session; over the connection limit it is already failing."""
        session = Session(
            self,
            session_id=f"session-{self._boot}-{next(self._ids)}",
            transport=transport,
            peer=peer,
            on_output=on_output,
            now=self.now(),
        )
        if len(self._sessions) + len(self._closing) >= self.config.limits.max_connections:
            session.fail(
                f"too many connections (limits.max_connections="
                f"{self.config.limits.max_connections}); try again later"
            )
            return session
        self._sessions[session] = None
        earlier = self._is_earliest(session.deadline)
        self._awaiting_connect.append(session)
        if earlier:
            self._announce_earlier_deadline()
        return session

    def sessions(self) -> list[Session]:
        return list(self._sessions)

    def forget(self, session: Session) -> None:
        """Called by a session that has closed: its socket is closing until `gone`."""
        self._sessions.pop(session, None)
        self._closing[session] = None

    def gone(self, session: Session) -> None:
        """Called by a session whose socket is gone."""
        self._closing.pop(session, None)

    def schedule(self, session: Session) -> None:
        """A session's `deadline` changed: make sure tick() visits it no later than that.
        `on_earlier_deadline` (the server's timer) hears when the next deadline moves up."""
        deadline = session.deadline
        if deadline is None or session not in self._sessions:
            return
        if session.timer_at is not None and session.timer_at <= deadline:
            return  # its entry fires no later; on_timer reschedules then
        earlier = self._is_earliest(deadline)
        session.timer_at = deadline
        heapq.heappush(self._timers, (deadline, next(self._timer_sequence), session))
        if earlier:
            self._announce_earlier_deadline()

    def _is_earliest(self, deadline: float | None) -> bool:
        current = self.next_deadline()
        return deadline is not None and (current is None or deadline < current)

    def _announce_earlier_deadline(self) -> None:
        if not self._ticking and self.on_earlier_deadline is not None:
            self.on_earlier_deadline()

    # Routing

    def subscribe(self, subscription: Subscription) -> None:
        destination = subscription.parsed
        if destination.kind == "topic":
            self._topics.add(destination.name, subscription)
            self.webhooks.subscribed(destination.name)
        elif destination.kind == "presence":
            self._watch_presence(subscription)
        else:
            self._queues.setdefault(destination.name, []).append(subscription)
            self.dispatch(destination)

    def unsubscribe(self, subscription: Subscription) -> None:
        destination = subscription.parsed
        if destination.kind == "topic":
            self._topics.remove(destination.name, subscription)
            self._withdraw(subscription)
            self.webhooks.unsubscribed(destination.name)
            return
        if destination.kind == "presence":
            self.presence.unwatch(subscription, destination.name)
            return
        subscribers = self._queues.get(destination.name, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers:
            self._queues.pop(destination.name, None)
            self._turns.pop(destination.name, None)
            self._open_gate(destination.name)

    def publish(
        self, destination: Destination, text: str, headers: list[tuple[str, str]], body: bytes
    ) -> list[FlowGate]:
        """Route one SEND: to every topic subscriber, or into the queue's store; returns what
        the publisher must wait for (queues above high water: a topic subscriber, however
        slow, never holds its publisher back)."""
        self.counters.messages_in += 1
        message_id = self._message_id(destination.kind)
        headers = [
            ("destination", text),
            ("message-id", message_id),
            *headers,
            ("content-length", str(len(body))),
        ]
        if destination.kind == "topic":
            bound = self._into_bound_queues(destination.name, headers, body)
            log = self.history.log_to_append(destination.name)
            if log is not None:
                headers.insert(-1, (OFFSET_HEADER, str(log.next_offset)))
            message = TopicMessage(message_id, headers, body)
            outcomes = self._fan_out(destination.name, message)
            self.counters.messages_out += outcomes[Outcome.DELIVERED]
            if log is not None:  # after the fan-out: with the tails it made
                log.append(message, size=message.held_bytes, now=self.now())
            return bound
        return self._enqueue(destination, text, headers, body)

    def _enqueue(
        self, destination: Destination, text: str, headers: list[tuple[str, str]], body: bytes
    ) -> list[FlowGate]:
        """Store one message in a queue (`text`, `destination` parsed) and hand it on."""
        if self.store.size(text) >= self.config.limits.max_queue_messages:
            raise ProtocolError(
                f"{text} is full: it holds limits.max_queue_messages="
                f"{self.config.limits.max_queue_messages} messages"
            )
        self.store.enqueue(text, StoredMessage(dict(headers), body))
        self.dispatch(destination)
        gate = self._queue_gates.get(destination.name)
        if gate is None and self.store.size(text) > self.config.limits.queue_high_water_messages:
            if destination.name not in self._queues:
                return []  # nobody consumes it: it fills up to max_queue_messages
            gate = self._queue_gates[destination.name] = FlowGate()
        return [] if gate is None else [gate]

    def queues_fed(self, destination: Destination, text: str) -> list[str]:
        """The queues a SEND to `destination` (`text`) adds a message to: the queue, or the
        queues bound to the topic."""
        if destination.kind == "queue":
            return [text]
        if destination.kind == "topic":
            return list(self._bindings.route(destination.name))
        return []

    def _message_id(self, kind: str) -> str:
        """A new message id, unique in this broker's life, starting with its destination's
        kind (session.py settles only queue messages' ids)."""
        return f"{MESSAGE_ID_PREFIXES[kind]}{self._boot}-{next(self._ids)}"

    def _into_bound_queues(
        self, name: str, headers: list[tuple[str, str]], body: bytes
    ) -> list[FlowGate]:
        """A copy of a topic message in every queue bound to the topic (`[[bindings]]`),
        stamped with when it arrived here: the time a consumer may trust, which no client can
        set (session.py drops a SEND's own ARRIVAL_HEADER)."""
        queues = self._bindings.route(name)
        if not queues:
            return []
        arrival = (ARRIVAL_HEADER, str(int(self.wall_time() * 1000)))
        gates: list[FlowGate] = []
        for queue in queues:
            # a queue message's own id: an ACK of a topic message's id would settle nothing
            message_id = ("message-id", self._message_id("queue"))
            copy = [message_id if key == "message-id" else (key, value) for key, value in headers]
            copy.insert(-1, arrival)
            gates += self._enqueue(parse_destination(queue), queue, copy, body)
        return gates

    def _fan_out(self, name: str, message: TopicMessage) -> Counter[Outcome]:
        """The message to every subscriber of topic `name`: what became of it, by outcome.
        Each subscriber takes it or not on its own (see Session.push_message)."""
        outcomes: Counter[Outcome] = Counter()
        for subscription in self._topics.route(name):
            session = subscription.session
            prefix = subscription.prefix
            if subscription.ack != "auto" and session.version == "1.2":
                prefix += message.ack_line
            outcomes[session.push_message(prefix, message.tail(session.version))] += 1
        return outcomes

    def resume(self, subscription: Subscription, offset: int) -> str:
        """Replay a new topic subscription's missed messages from `offset` on, before any
        other message can reach it; returns the Resume value for its RECEIPT."""
        outcome, missed = self.history.since(subscription.parsed.name, offset)
        session = subscription.session
        acked = subscription.ack != "auto" and session.version == "1.2"
        for message in missed:
            prefix = subscription.prefix + message.ack_line if acked else subscription.prefix
            tail = message.tail(session.version, keep=False)  # kept ones are counted as they are
            if session.push_message(prefix, tail) != Outcome.DELIVERED:
                return Resume.TOO_OLD  # the rest does not fit its output: it must reload
            self.counters.messages_out += 1
        return outcome

    # Presence

    def announce(self, subscription: Subscription, user: str) -> None:
        """A topic subscription announces `user` there: its watchers hear if `user` joined."""
        topic = subscription.parsed.name
        if self.presence.announce(subscription, topic, user):
            self._tell_watchers(topic, "join", event_body("join", user))

    def _withdraw(self, subscription: Subscription) -> None:
        left = self.presence.withdraw(subscription)
        if left is not None:
            topic, user = left
            self._tell_watchers(topic, "leave", event_body("leave", user))

    def _watch_presence(self, subscription: Subscription) -> None:
        """A new watcher gets who is here first, then every join and leave."""
        topic = subscription.parsed.name
        self.presence.watch(subscription, topic)
        users = self.presence.users(topic)
        self._tell(subscription, self._presence_message(topic, "snapshot", snapshot_body(users)))

    def _tell_watchers(self, topic: str, event: str, body: bytes) -> None:
        watchers = self.presence.watchers(topic)
        if watchers:
            message = self._presence_message(topic, event, body)
            for subscription in watchers:
                self._tell(subscription, message)

    def _presence_message(self, topic: str, event: str, body: bytes) -> TopicMessage:
        """Presence events are topic messages the broker sends: nothing to acknowledge."""
        message_id = self._message_id("topic")
        headers = [
            ("destination", f"/presence/{topic}"),
            ("message-id", message_id),
            (EVENT_HEADER, event),
            ("content-type", CONTENT_TYPE),
            ("content-length", str(len(body))),
        ]
        return TopicMessage(message_id, headers, body)

    def _tell(self, subscription: Subscription, message: TopicMessage) -> None:
        """One presence MESSAGE to one watcher, as a fan-out delivers it."""
        session = subscription.session
        prefix = subscription.prefix
        if subscription.ack != "auto" and session.version == "1.2":
            prefix += message.ack_line
        if session.push_message(prefix, message.tail(session.version)) == Outcome.DELIVERED:
            self.counters.messages_out += 1

    def dispatch(self, destination: Destination) -> None:
        """Hand queued messages to the queue's subscribers in turn, while they have room."""
        if destination.kind != "queue":
            return
        subscribers = self._queues.get(destination.name)
        if not subscribers:
            return
        text = f"/queue/{destination.name}"
        while self.store.has_frames(text):
            subscription = self._next_with_room(destination.name, subscribers)
            if subscription is None:
                break
            frame = self.store.dequeue(text)
            self._deliver(subscription, text, frame)
        if self.store.size(text) <= self.config.limits.queue_high_water_messages:
            self._open_gate(destination.name)

    def _open_gate(self, name: str) -> None:
        gate = self._queue_gates.pop(name, None)
        if gate is not None:
            gate.open()

    def _next_with_room(self, name: str, subscribers: list[Subscription]) -> Subscription | None:
        turn = self._turns.get(name, 0)
        for offset in range(len(subscribers)):
            subscription = subscribers[(turn + offset) % len(subscribers)]
            if subscription.session.has_room() and (
                subscription.ack == "auto" or subscription.unacked < subscription.prefetch
            ):
                self._turns[name] = turn + offset + 1
                return subscription
        return None

    def _deliver(self, subscription: Subscription, text: str, frame: StoredMessage) -> None:
        if subscription.ack == "auto":
            self.store.ack(text, frame)
        elif "redelivered" not in frame.headers:
            self.store.delivered(text, frame)
        subscription.session.push_queued(subscription, frame)
        self.counters.messages_out += 1

    def requeue(self, destination: Destination, frames: list[StoredMessage]) -> None:
        """Messages that were NACKed or whose session left go back to the front of their
        queue for redelivery, in the order given, before any is handed out again."""
        text = f"/queue/{destination.name}"
        for frame in reversed(frames):
            frame.headers["redelivered"] = "true"
            self.store.requeue(text, frame)
        self.dispatch(destination)

    # Time

    def next_deadline(self) -> float | None:
        """When tick() next has something to do (heart-beats, timeouts), if ever."""
        deadlines = [self._timers[0][0]] if self._timers else []
        connect = self._first_connect_deadline()
        if connect is not None:
            deadlines.append(connect)
        return min(deadlines, default=None)

    def _first_connect_deadline(self) -> float | None:
        """The connect queue's earliest deadline; the sessions at its head go once they
        connected or left (or no longer have a deadline)."""
        waiting = self._awaiting_connect
        while waiting:
            first = waiting[0]
            if first.state in CONNECTING and first.deadline is not None:
                return first.deadline
            waiting.popleft()
        return None

    def tick(self) -> int:
        """Run the timers that are due; returns how many sessions it visited."""
        now = self.now()
        visited = 0
        self._ticking = True
        try:
            while (deadline := self._first_connect_deadline()) is not None and deadline <= now:
                visited += 1
                _run_timer(self._awaiting_connect.popleft(), now)
            while self._timers and self._timers[0][0] <= now:
                at, _, session = heapq.heappop(self._timers)
                if session.timer_at != at:
                    continue
                session.timer_at = None
                if session in self._sessions:
                    visited += 1
                    _run_timer(session, now)
        finally:
            self._ticking = False
        return visited

    # Operations

    def stats(self) -> dict[str, object]:
        """What `GET /stats` shows."""
        connections = {"tcp": 0, "ws": 0}
        for session in self._sessions:
            connections[session.transport] = connections.get(session.transport, 0) + 1
        connections["total"] = len(self._sessions)
        connections["closing"] = len(self._closing)
        subscriptions = {f"/topic/{name}": n for name, n in self._topics.counts().items()}
        subscriptions.update({f"/queue/{name}": len(subs) for name, subs in self._queues.items()})
        subscriptions.update({f"/presence/{name}": n for name, n in self.presence.counts().items()})
        return {
            "connections": connections,
            "subscriptions": subscriptions,
            **dataclasses.asdict(self.counters),
            "queues": self._queue_sizes(self.store.destinations()),
            "history": self.history.stats(),
            "webhooks": self.webhooks.stats(),
            "uptime_seconds": round(self.now() - self._started, 3),
        }

    def _queue_sizes(self, destinations: Iterable[str]) -> dict[str, int]:
        return {text: self.store.size(text) for text in sorted(destinations)}

    def shutdown(self, reason: str = "broker shutting down") -> None:
        """Tell every client, put unacknowledged messages back, and flush the store."""
        for session in list(self._sessions):
            session.fail(reason)
        self.store.close()


def _run_timer(session: Session, now: float) -> None:
    """One session's timer; a bug in it ends that connection alone (Session.crash), and the
    other sessions due at the same tick still get theirs."""
    try:
        session.on_timer(now)
    except Exception as error:  # a bug: it ends this connection, and only this one
        session.crash(error, "running its timer")
