"""One client connection's STOMP state machine: bytes in, bytes out, no I/O.

A transport feeds `receive_data()`, writes what `data_to_send()` returns whenever
`on_output` fires, reports its own unsent bytes with `note_backlog()` after each write and
whenever its socket drains, stops reading from the socket while `reading_paused` is true,
closes the socket once `closing` is true and the output is written (resets it at once,
dropping what is unsent, when `cut` is true too), and calls `connection_lost()` when the
socket is gone. Routing between
sessions is the broker's (`broker.routing`, seen from here as `SessionBroker`); everything one
client may or may not do is decided here.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from broker.auth import AccessRefused, Authentication, Authority, LoginsBusy, PendingCheck
from broker.config import BrokerConfig
from broker.destinations import Destination, DestinationError, parse_destination
from broker.frames import (
    VERSIONS,
    Frame,
    FrameError,
    FrameParser,
    decimal,
    encode_frame,
    encode_headers,
)
from broker.history import OFFSET_HEADER, RESUME_HEADER, parse_offset
from broker.presence import ANNOUNCE, ANNOUNCE_HEADER
from broker.stores import MemoryStore, SqliteStore, StoredMessage

log = logging.getLogger("broker")

SERVER = "stomp-broker/1.0"
ACK_MODES = ("auto", "client", "client-individual")
# The broker's own side of heart-beat negotiation: it can send and wants to hear from the
# client at least this often, so a client asking for faster beats gets these instead.
SERVER_HEARTBEAT_MS = 1000
CONNECT_TIMEOUT_SECONDS = 10.0
# When a SEND reached the broker, in milliseconds since the epoch, on the copies it puts in
# bound queues (`[[bindings]]`): the name RabbitMQ's message timestamp interceptor uses.
ARRIVAL_HEADER = "timestamp_in_ms"
# Frames one connection has handled before the others get their turn: a client writing a
# thousand frames at once waits for the next turn of the event loop for the rest, and is
# not read from meanwhile, instead of holding up every other client until all are handled.
FRAMES_PER_TURN = 100
# Headers the broker sets on MESSAGE frames itself; a client cannot forge them.
RESERVED_MESSAGE_HEADERS = frozenset(
    {
        "destination",
        "message-id",
        "subscription",
        "ack",
        "content-length",
        "receipt",
        "transaction",
        "redelivered",  # on a queue message the broker hands out again, only
        OFFSET_HEADER,
        ARRIVAL_HEADER,
    }
)
# The broker's message ids start with their destination's kind: an ACK or NACK of a topic's
# message has nothing to settle.
MESSAGE_ID_PREFIXES = {"topic": "t-", "queue": "q-"}


class ProtocolError(Exception):
    """A frame the broker refuses; the message goes into the ERROR frame."""


class FlowGate:
    """What the publishers of a queue that holds more than its consumers take wait for before
    they are read again (RabbitMQ's flow control). A topic subscriber never holds a publisher
    back: a slow one only falls behind itself (see Session.push_message)."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: dict[Session, None] = {}

    def open(self) -> None:
        waiting, self.waiting = self.waiting, {}
        for publisher in waiting:
            publisher.gate_opened(self)


class Outcome(enum.Enum):
    """What became of one topic MESSAGE for one subscriber (Session.push_message)."""

    DELIVERED = "delivered"
    # slow_consumer_policy = "drop": the subscriber was above high water, or past its limit
    DROPPED = "dropped"
    # slow_consumer_policy = "disconnect": past max_output_buffer_bytes, the subscriber is cut
    CUT = "cut"
    # the subscriber was already leaving
    CLOSED = "closed"


class State(enum.Enum):
    """Where a connection is in its life; it only ever moves down this list, and may skip."""

    # No CONNECT yet: a deadline runs, and what the client may send is bounded tighter.
    AWAITING_CONNECT = "awaiting connect"
    # A CONNECT's passcode is being checked off the event loop; the frames after it wait.
    VERIFYING = "verifying"
    CONNECTED = "connected"
    # Takes no more frames or messages; the transport closes once the output is written.
    CLOSING = "closing"


# The states in which a session acts on the frames its client sent.
TAKING_FRAMES = frozenset({State.AWAITING_CONNECT, State.CONNECTED})
# The states whose CONNECT deadline still runs.
CONNECTING = frozenset({State.AWAITING_CONNECT, State.VERIFYING})


@dataclass(slots=True)
class Counters:
    """The broker's message counters, for `/stats`; sessions count what they drop."""

    messages_in: int = 0
    messages_out: int = 0
    slow_consumers_dropped: int = 0
    messages_dropped: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    heartbeat_timeouts: int = 0
    # CONNECTs refused for who they are: unknown login, wrong passcode, bad or expired token,
    # a login on a listener or from an address it may not use
    auth_failures: int = 0


class SessionBroker(Protocol):
    """What a session needs from the broker it belongs to (`broker.routing.Broker`)."""

    config: BrokerConfig
    store: MemoryStore | SqliteStore
    authentication: Authentication
    counters: Counters

    def now(self) -> float: ...

    def wall_time(self) -> float: ...

    def publish(
        self, destination: Destination, text: str, headers: list[tuple[str, str]], body: bytes
    ) -> list[FlowGate]: ...

    def subscribe(self, subscription: Subscription) -> None: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    def announce(self, subscription: Subscription, user: str) -> None: ...
    def resume(self, subscription: Subscription, offset: int) -> str: ...

    def dispatch(self, destination: Destination) -> None: ...

    def queues_fed(self, destination: Destination, text: str) -> list[str]: ...

    def requeue(self, destination: Destination, frames: list[StoredMessage]) -> None: ...

    def schedule(self, session: Session) -> None: ...

    def forget(self, session: Session) -> None: ...

    def gone(self, session: Session) -> None: ...


@dataclass(eq=False, slots=True)
class Subscription:
    """One SUBSCRIBE of one session; `prefix` is its MESSAGE header lines, encoded once."""

    session: Session
    id: str
    destination: str
    parsed: Destination
    ack: str
    prefix: bytes
    # Client-ack queue messages this subscription may hold unacknowledged (its credit).
    prefetch: int = 0
    unacked: int = 0


@dataclass(slots=True)
class Delivery:
    """A queued message handed to a client-ack subscription and not yet acknowledged."""

    subscription: Subscription
    frame: StoredMessage


class Session:
    """The protocol state of one connection, over TCP or WebSocket alike."""

    # Slots: ten thousand idle sessions each keep 40-odd attributes, which a per-instance
    # __dict__ (past CPython's 30 shared keys) would hold at ~2 KiB more apiece.
    __slots__ = (
        "_backlog",
        "_broker",
        "_bytes_before_connect",
        "_chunks",
        "_easy_limit",
        "_high_water",
        "_in_flight",
        "_input_held",
        "_last_input",
        "_last_output",
        "_limits",
        "_more_input",
        "_on_output",
        "_parser",
        "_passcode_check",
        "_pending",
        "_queue_subscriptions",
        "_receive_window",
        "_send_interval",
        "_signalled",
        "_store",
        "_token_deadline",
        "_transaction_bytes",
        "_transactions",
        "_waiting_on",
        "authority",
        "close_reason",
        "congested_since",
        "cut",
        "deadline",
        "id",
        "login",
        "peer",
        "state",
        "subscriptions",
        "timer_at",
        "transport",
        "unacked",
        "version",
        "vhost",
    )

    def __init__(
        self,
        broker: SessionBroker,
        *,
        session_id: str,
        transport: str,
        peer: str,
        on_output: Callable[[], object],
        now: float,
    ) -> None:
        limits = broker.config.limits
        self.id = session_id
        self.transport = transport
        self.peer = peer
        self.version = "1.0"
        self.vhost = "/"
        self.login: str | None = None
        self.authority: Authority | None = None
        self.state = State.AWAITING_CONNECT
        self._passcode_check: PendingCheck | None = None  # cancelled if the client leaves
        self.close_reason: str | None = None
        # Ended as a slow consumer: a client that does not read would not read its ERROR
        # either, and a graceful close would keep its unsent bytes (megabytes, in the kernel
        # too) for as long as it does not read.
        self.cut = False
        self.subscriptions: dict[str, Subscription] = {}
        self.unacked: dict[str, Delivery] = {}
        self._broker = broker
        self._store = broker.store
        self._limits = limits
        self._input_held = False  # frames wait in the parser until reading is not paused
        self._more_input = False  # its turn ended with frames left: they go on at the next
        self._queue_subscriptions = 0
        self._parser = FrameParser(
            max_frame_bytes=limits.max_frame_bytes,
            max_headers=limits.max_headers,
            max_header_bytes=limits.max_header_bytes,
        )
        self._transactions: dict[str, list[Frame]] = {}
        self._transaction_bytes = 0  # held by all open transactions together
        self._bytes_before_connect = 0
        self._on_output = on_output
        self._chunks: list[bytes] = []
        self._pending = 0
        self._in_flight = 0
        self._backlog = 0
        self._high_water = limits.output_high_water_bytes
        # Below this (or into empty output) a topic message needs no further checks.
        self._easy_limit = min(self._high_water, limits.max_output_buffer_bytes)
        self._signalled = False
        # Flow control: since when this session's output has been above high water with topic
        # messages or RECEIPTs for it (None: it is not), and the queues this session (as a
        # publisher) waits for; made when first held back: ten thousand idle sessions need none.
        self.congested_since: float | None = None
        self._waiting_on: dict[FlowGate, None] | None = None
        # Time, as data: when bytes last went out and came in, the negotiated heart-beats,
        # when the token expires (monotonic), and the earliest of these deadlines.
        self._send_interval = 0.0
        self._receive_window = 0.0
        self._last_output = now
        self._last_input = now
        self._token_deadline: float | None = None
        self.deadline: float | None = now + CONNECT_TIMEOUT_SECONDS
        # The deadline of this session's entry in the broker's timer heap (None: no entry).
        self.timer_at: float | None = None

    @property
    def connected(self) -> bool:
        return self.state is State.CONNECTED

    @property
    def closing(self) -> bool:
        return self.state is State.CLOSING

    # Bytes in

    def receive_data(self, data: bytes) -> None:
        """Parse and act on the complete frames in `data` until `reading_paused`; the rest
        waits in the parser until the session can take it. An error ends the session."""
        if self.closing:
            return
        self._last_input = self._broker.now()
        self._broker.counters.bytes_in += len(data)
        self._parser.feed(data)
        if self.state is State.VERIFYING and self._parser.buffered > self._limits.max_frame_bytes:
            # Nothing is parsed while the passcode is checked, so nothing else bounds this.
            self.fail(
                f"more than limits.max_frame_bytes={self._limits.max_frame_bytes} bytes sent "
                "before the CONNECT was answered"
            )
            return
        self._handle_input()
        # Until a CONNECT has come (a CONNECT being verified is bounded above).
        if self.state is State.AWAITING_CONNECT:
            self._bytes_before_connect += len(data)
            if self._bytes_before_connect > self._limits.max_connect_frame_bytes:
                self.fail(self._connect_too_large())

    def _connect_too_large(self) -> str:
        return (
            f"CONNECT frame is larger than limits.max_connect_frame_bytes="
            f"{self._limits.max_connect_frame_bytes} (the frame limit before authentication)"
        )

    @property
    def reading_paused(self) -> bool:
        """True while this client must wait: its own output is above high water, or it
        publishes to a queue above high water (RabbitMQ's flow control)."""
        return self._more_input or bool(self._waiting_on) or self._used() > self._high_water

    def _handle_input(self) -> None:
        """Act on the parsed frames, until the session must wait: reading is paused, a
        CONNECT waits for its passcode check, or FRAMES_PER_TURN were handled (the transport
        calls again at the loop's next turn: see note_backlog)."""
        self._input_held = True
        self._more_input = False
        handled = 0
        while self.state in TAKING_FRAMES and not self.reading_paused:
            if handled == FRAMES_PER_TURN and self._parser.buffered:
                self._more_input = True
                self._signal_output()  # the transport's next flush gives the next turn
                break
            handled += 1
            try:
                frame = self._parser.next_frame()
            except FrameError as error:
                self.fail(str(error))
                return
            if frame is None:
                self._input_held = False
                break
            try:
                self._handle(frame)
            except AccessRefused as error:
                self._broker.counters.auth_failures += 1
                self.fail(str(error), receipt=frame.headers.get("receipt"))
            except (ProtocolError, DestinationError, LoginsBusy) as error:
                self.fail(str(error), receipt=frame.headers.get("receipt"))
            except Exception as error:  # a bug: it ends this connection, and only this one
                self.crash(error, f"handling {frame.command}")
        if self._store.dirty:
            self._signal_output()  # data_to_send() commits what these frames wrote

    def crash(self, error: BaseException, doing: str) -> None:
        """An error nothing expected (a bug) while `doing` something for this client: logged
        with its traceback; the client gets an ERROR and is closed, and no other connection
        notices (the session and its transport both end this way)."""
        log.error(
            "internal error %s for %s (login=%s)", doing, self.peer, self.login, exc_info=error
        )
        self.fail(
            f"internal error while {doing} ({type(error).__name__}); "
            "the connection is closed, and the broker's log has the details"
        )

    def _handle(self, frame: Frame) -> None:
        command = frame.command
        if not self.connected:
            if command not in ("CONNECT", "STOMP"):
                raise ProtocolError(f"expected CONNECT or STOMP as the first frame, got {command}")
            self._connect(frame)
            return
        if command in ("CONNECT", "STOMP"):
            raise ProtocolError("already connected: send CONNECT only once per connection")
        if command == "DISCONNECT":
            self._disconnect(frame)
            return
        transaction = frame.headers.get("transaction")
        if transaction is not None and command in ("SEND", "ACK", "NACK"):
            if command == "SEND":
                self._permitted_send(frame)
            self._hold(transaction, frame)
            answer = None
        else:
            answer = self._HANDLERS[command](self, frame)
        receipt = frame.headers.get("receipt")
        if receipt is not None and not self.closing:  # closed: its ERROR was the last word
            self.send_frame("RECEIPT", [("receipt-id", receipt), *(answer or ())])

    def _connect(self, frame: Frame) -> None:
        if _frame_size(frame) > self._limits.max_connect_frame_bytes:
            raise ProtocolError(self._connect_too_large())
        headers = frame.headers
        offered = [v.strip() for v in headers.get("accept-version", "1.0").split(",")]
        common = [version for version in VERSIONS if version in offered]
        if not common:
            self.fail(
                f"no common STOMP version: the client accepts {', '.join(offered)}, "
                f"this broker speaks {', '.join(VERSIONS)}",
                headers=(("version", ",".join(VERSIONS)),),
            )
            return
        self.version = common[-1]
        self._parser.version = self.version
        self.vhost = headers.get("host") or "/"
        heartbeat = self._heartbeat_header(headers.get("heart-beat", "0,0"))
        credentials = self._broker.authentication.credentials(
            login=headers.get("login"), passcode=headers.get("passcode"), vhost=self.vhost
        )
        authentication = self._broker.authentication
        if isinstance(credentials, Authority):
            self._accept(credentials, heartbeat)
            return
        if authentication.remembers(credentials):
            authority = authentication.user_authority(
                credentials, True, transport=self.transport, peer=self.peer
            )
            self._accept(authority, heartbeat)
            return
        self.state = State.VERIFYING
        receipt = headers.get("receipt")

        def checked(verified: bool) -> None:
            self._passcode_check = None
            if self.closing:
                return
            try:
                authority = authentication.user_authority(
                    credentials, verified, transport=self.transport, peer=self.peer
                )
            except AccessRefused as error:
                self._broker.counters.auth_failures += 1
                self.fail(str(error), receipt=receipt)
                return
            self._accept(authority, heartbeat)
            self._handle_input()

        pending = authentication.verify(credentials, checked, host=self.peer.rpartition(":")[0])
        if self.state is State.VERIFYING:  # not answered at once
            self._passcode_check = pending

    def _accept(self, authority: Authority, heartbeat: tuple[int, int]) -> None:
        """CONNECTED, with the heart-beats the client asked for and the broker can give."""
        client_send, client_receive = heartbeat
        self.authority = authority
        self.login = authority.login
        if authority.expires_at is not None:
            self._token_deadline = self._broker.now() + (
                authority.expires_at - self._broker.wall_time()
            )
        self.state = State.CONNECTED
        server = SERVER_HEARTBEAT_MS if self.version != "1.0" else 0
        self._start_heartbeats(
            send_ms=max(server, client_receive) if server and client_receive else 0,
            receive_ms=max(server, client_send) if server and client_send else 0,
        )
        self.send_frame(
            "CONNECTED",
            [
                ("version", self.version),
                ("server", SERVER),
                ("session", self.id),
                ("heart-beat", f"{server},{server}"),
            ],
        )

    @staticmethod
    def _heartbeat_header(value: str) -> tuple[int, int]:
        parts = [decimal(part.strip()) for part in value.split(",")]
        if len(parts) != 2 or parts[0] is None or parts[1] is None:
            raise ProtocolError(
                f"heart-beat header must be two non-negative integers like 10000,10000 "
                f"(at most 15 ASCII digits each), got {value[:40]!r}"
            )
        return parts[0], parts[1]

    def _start_heartbeats(self, *, send_ms: int, receive_ms: int) -> None:
        self._send_interval = send_ms / 1000
        self._receive_window = receive_ms / 1000 * self._limits.heartbeat_grace
        self._reschedule()

    def _disconnect(self, frame: Frame) -> None:
        receipt = frame.headers.get("receipt")
        if receipt is not None:
            self.send_frame("RECEIPT", [("receipt-id", receipt)])
        self.close("client disconnected")

    def _destination(self, frame: Frame) -> tuple[str, Destination]:
        text = frame.headers.get("destination")
        if not text:
            raise ProtocolError(f"{frame.command} frame has no destination header")
        return text, parse_destination(text)

    def _check_token(self) -> None:
        assert self.authority is not None
        if self.authority.expired(self._broker.wall_time()):
            raise ProtocolError("token expired: reconnect with a new token")

    def _permitted_send(self, frame: Frame) -> tuple[str, Destination]:
        """A SEND's destination, refused if the session may not send there."""
        text, destination = self._destination(frame)
        if destination.is_pattern:
            raise ProtocolError(f"cannot SEND to {text}: wildcards are for subscriptions only")
        if destination.kind == "presence":
            raise ProtocolError(f"cannot SEND to {text}: only the broker sends presence events")
        self._check_token()
        assert self.authority is not None
        if not self.authority.may_write(text):
            raise ProtocolError(f"access refused: {self.login!r} may not send to {text}")
        return text, destination

    def _send(self, frame: Frame) -> None:
        text, destination = self._permitted_send(frame)
        headers = [
            (name, value)
            for name, value in frame.headers.items()
            if name not in RESERVED_MESSAGE_HEADERS
        ]
        for gate in self._broker.publish(destination, text, headers, frame.body):
            self._wait_for(gate)

    def _subscribe(self, frame: Frame) -> list[tuple[str, str]] | None:
        """Subscribe; a resuming SUBSCRIBE's RECEIPT says whether it was resumed."""
        text, destination = self._destination(frame)
        resume_at = self._resume_offset(frame, text, destination)
        subscription_id = frame.headers.get("id")
        if subscription_id is None:
            if self.version != "1.0":
                raise ProtocolError(f"SUBSCRIBE to {text} needs an id header in STOMP 1.1 and 1.2")
            subscription_id = text
        if subscription_id in self.subscriptions:
            raise ProtocolError(f"subscription id {subscription_id!r} is already in use")
        if len(self.subscriptions) >= self._limits.max_subscriptions_per_connection:
            raise ProtocolError(
                f"too many subscriptions on one connection "
                f"(limits.max_subscriptions_per_connection={self._limits.max_subscriptions_per_connection})"
            )
        ack = frame.headers.get("ack", "auto")
        if ack not in ACK_MODES:
            raise ProtocolError(f"ack mode {ack!r} is unknown: use {', '.join(ACK_MODES)}")
        if destination.kind == "queue" and destination.is_pattern:
            raise ProtocolError(f"cannot SUBSCRIBE to {text}: wildcards are for /topic/ only")
        prefetch = self._prefetch(frame.headers.get("prefetch-count"))
        self._check_token()
        assert self.authority is not None
        announce = self._presence_rights(frame, text, destination)
        if destination.kind != "presence" and not self.authority.may_read(text):
            raise ProtocolError(f"access refused: {self.login!r} may not subscribe to {text}")
        id_header = [] if "id" not in frame.headers else [("subscription", subscription_id)]
        prefix = b"MESSAGE\n" + encode_headers(id_header, self.version)
        subscription = Subscription(
            self, subscription_id, text, destination, ack, prefix, prefetch=prefetch
        )
        self.subscriptions[subscription_id] = subscription
        self._queue_subscriptions += destination.kind == "queue"
        self._broker.subscribe(subscription)
        if announce:
            self._broker.announce(subscription, self.authority.login)
        if resume_at is None:
            return None
        return [(RESUME_HEADER, self._broker.resume(subscription, resume_at))]

    def _presence_rights(self, frame: Frame, text: str, destination: Destination) -> bool:
        """Whether this SUBSCRIBE announces its user; refused if it may not, or if it watches a
        topic's presence it may not see (a `read` grant does not include presence)."""
        assert self.authority is not None
        topic = f"/topic/{destination.name}"
        if destination.kind == "presence":
            if destination.is_pattern:
                raise ProtocolError(f"cannot SUBSCRIBE to {text}: presence is for one topic")
            if not self.authority.may_watch(topic):
                raise ProtocolError(
                    f"access refused: {self.login!r} may not watch the presence of {topic}"
                )
        value = frame.headers.get(ANNOUNCE_HEADER)
        if value is None:
            return False
        if value != ANNOUNCE:
            raise ProtocolError(
                f"{ANNOUNCE_HEADER} header must be {ANNOUNCE!r}, got {value[:40]!r}"
            )
        if destination.kind != "topic" or destination.is_pattern:
            raise ProtocolError(
                f"cannot announce on {text}: presence is announced on one /topic/ without wildcards"
            )
        if not self.authority.may_announce(text):
            raise ProtocolError(f"access refused: {self.login!r} may not announce itself on {text}")
        return True

    def _resume_offset(self, frame: Frame, text: str, destination: Destination) -> int | None:
        """The offset a SUBSCRIBE asks to resume at, if it does (see broker.history)."""
        value = frame.headers.get(OFFSET_HEADER)
        if value is None:
            return None
        if destination.kind != "topic" or destination.is_pattern:
            raise ProtocolError(
                f"{OFFSET_HEADER} resumes one topic, not {text}: a wildcard or a queue "
                "has no single offset"
            )
        offset = parse_offset(value)
        if offset is None:
            raise ProtocolError(
                f"{OFFSET_HEADER} must be offset=<n> with n a whole number, got {value[:40]!r}"
            )
        if "receipt" not in frame.headers:
            raise ProtocolError(
                f"a SUBSCRIBE with {OFFSET_HEADER} needs a receipt header: its RECEIPT says "
                "whether the resume was honoured"
            )
        return offset

    def _prefetch(self, value: str | None) -> int:
        """How many client-ack queue messages a subscription may hold unacknowledged."""
        if value is None:
            return self._limits.default_prefetch_count
        prefetch = decimal(value)
        if not prefetch:
            raise ProtocolError(
                "prefetch-count must be a positive whole number (at most 15 ASCII digits), "
                f"got {value[:40]!r}"
            )
        return prefetch

    def _unsubscribe(self, frame: Frame) -> None:
        subscription_id = frame.headers.get("id")
        if subscription_id is None and self.version == "1.0":
            subscription_id = frame.headers.get("destination")
        if subscription_id is None:
            raise ProtocolError("UNSUBSCRIBE needs the id of the subscription")
        subscription = self.subscriptions.pop(subscription_id, None)
        if subscription is None:
            raise ProtocolError(f"there is no subscription with id {subscription_id!r}")
        self._queue_subscriptions -= subscription.parsed.kind == "queue"
        self._broker.unsubscribe(subscription)
        self._release([k for k, d in self.unacked.items() if d.subscription is subscription])

    def _ack(self, frame: Frame) -> None:
        self._acknowledge(frame, settle=True)

    def _nack(self, frame: Frame) -> None:
        self._acknowledge(frame, settle=False)

    def _acknowledge(self, frame: Frame, *, settle: bool) -> None:
        """ACK removes the message for good, NACK gives it back to the queue; in `client`
        mode either applies to every earlier message of that subscription too."""
        ack_id = frame.headers.get("id") or frame.headers.get("message-id")
        if not ack_id:
            raise ProtocolError(f"{frame.command} needs the id header of the MESSAGE's ack")
        if ack_id.startswith(MESSAGE_ID_PREFIXES["topic"]):
            return  # topic messages are not kept, so there is nothing to settle
        delivery = self.unacked.get(ack_id)
        if delivery is None:
            raise ProtocolError(f"no message awaits acknowledgement with id {ack_id!r}")
        subscription = delivery.subscription
        keys = [ack_id]
        if subscription.ack == "client":
            keys = []
            for key, earlier in self.unacked.items():
                if earlier.subscription is subscription:
                    keys.append(key)
                if key == ack_id:
                    break
        if settle:
            for key in keys:
                settled = self.unacked.pop(key)
                settled.subscription.unacked -= 1
                self._store.ack(settled.subscription.destination, settled.frame)
            self._broker.dispatch(subscription.parsed)
        else:
            self._release(keys)

    def _release(self, keys: list[str]) -> None:
        """Give unacknowledged messages back to their queues for redelivery, each queue's in
        the order they were delivered (as crash recovery gives them back)."""
        by_queue: dict[str, tuple[Destination, list[StoredMessage]]] = {}
        for key in keys:
            delivery = self.unacked.pop(key)
            delivery.subscription.unacked -= 1
            destination = delivery.subscription.parsed
            by_queue.setdefault(destination.name, (destination, []))[1].append(delivery.frame)
        for destination, frames in by_queue.values():
            self._broker.requeue(destination, frames)

    def _transaction(self, name: str, command: str) -> list[Frame]:
        frames = self._transactions.get(name)
        if frames is None:
            raise ProtocolError(f"{command} names transaction {name!r}, which was not begun")
        return frames

    def _hold(self, name: str, frame: Frame) -> None:
        """Keep a frame for COMMIT, within the limits on what transactions may pin."""
        frames = self._transaction(name, frame.command)
        limits = self._limits
        if len(frames) >= limits.max_transaction_frames:
            raise ProtocolError(
                f"transaction {name!r} holds too many frames "
                f"(limits.max_transaction_frames={limits.max_transaction_frames})"
            )
        size = _frame_size(frame)
        if self._transaction_bytes + size > limits.max_transaction_bytes:
            raise ProtocolError(
                f"open transactions hold too many bytes "
                f"(limits.max_transaction_bytes={limits.max_transaction_bytes})"
            )
        self._transaction_bytes += size
        frames.append(frame)

    def _end_transaction(self, name: str, command: str) -> list[Frame]:
        frames = self._transaction(name, command)
        del self._transactions[name]
        self._transaction_bytes -= sum(map(_frame_size, frames))
        return frames

    def _begin(self, frame: Frame) -> None:
        name = self._transaction_header(frame)
        if name in self._transactions:
            raise ProtocolError(f"transaction {name!r} is already in progress")
        limit = self._limits.max_transactions_per_connection
        if len(self._transactions) >= limit:
            raise ProtocolError(
                f"too many open transactions (limits.max_transactions_per_connection={limit})"
            )
        self._transactions[name] = []

    def _commit(self, frame: Frame) -> None:
        """Apply a transaction's frames, all or none: each is checked first."""
        frames = self._end_transaction(self._transaction_header(frame), "COMMIT")
        self._check_transaction(frames)
        for held in frames:
            self._HANDLERS[held.command](self, held)

    def _check_transaction(self, frames: list[Frame]) -> None:
        """Refuse a COMMIT (ProtocolError) that one of its frames would fail: a SEND the
        session may no longer make or its queues have no room for, an ACK or NACK of a
        message no longer waiting (or settled by an earlier one of the same transaction)."""
        room: Counter[str] = Counter()
        settled: set[str] = set()
        for held in frames:
            if held.command == "SEND":
                text, destination = self._permitted_send(held)
                room.update(self._broker.queues_fed(destination, text))
                continue
            ack_id = held.headers.get("id") or held.headers.get("message-id") or ""
            if ack_id.startswith(MESSAGE_ID_PREFIXES["topic"]):
                continue
            if ack_id not in self.unacked or ack_id in settled:
                raise ProtocolError(
                    f"COMMIT refused, none of its frames applied: {held.command} of "
                    f"{ack_id[:80]!r}, which no longer awaits acknowledgement"
                )
            subscription = self.unacked[ack_id].subscription
            if subscription.ack == "client":  # cumulative: the earlier ones go with it
                for key, earlier in self.unacked.items():
                    if earlier.subscription is subscription:
                        settled.add(key)
                    if key == ack_id:
                        break
            settled.add(ack_id)
        limit = self._limits.max_queue_messages
        for text, count in room.items():
            if self._store.size(text) + count > limit:
                raise ProtocolError(
                    f"COMMIT refused, none of its frames applied: {text} has no room for "
                    f"{count} more (limits.max_queue_messages={limit})"
                )

    def _abort(self, frame: Frame) -> None:
        self._end_transaction(self._transaction_header(frame), "ABORT")

    @staticmethod
    def _transaction_header(frame: Frame) -> str:
        name = frame.headers.get("transaction")
        if not name:
            raise ProtocolError(f"{frame.command} needs a transaction header")
        return name

    # A handler may return headers for the frame's RECEIPT.
    _HANDLERS: dict[str, Callable[[Session, Frame], list[tuple[str, str]] | None]] = {
        "SEND": _send,
        "SUBSCRIBE": _subscribe,
        "UNSUBSCRIBE": _unsubscribe,
        "ACK": _ack,
        "NACK": _nack,
        "BEGIN": _begin,
        "COMMIT": _commit,
        "ABORT": _abort,
    }

    # Bytes out

    def send_frame(self, command: str, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        """Queue a frame the broker itself says (CONNECTED, RECEIPT). It is never skipped,
        but counts against the output limits as a MESSAGE does: a client that stops reading
        its RECEIPTs is cut as a slow consumer once its output stayed above high water for
        `slow_consumer_grace_seconds`. (It cannot pile up more: its frames are not read
        while its output is above high water.)"""
        self._push(encode_frame(command, headers, body, version=self.version))
        if self.congested_since is None and self._used() > self._high_water:
            self.congested_since = self._broker.now()
            self._reschedule()

    def _push(self, *chunks: bytes) -> None:
        self._chunks.extend(chunks)
        self._pending += sum(map(len, chunks))
        self._signal_output()

    def _signal_output(self) -> None:
        """Tell the transport once, until it takes the output with data_to_send()."""
        if not self._signalled:
            self._signalled = True
            self._on_output()

    def _used(self) -> int:
        """Output bytes not yet on the wire: queued here, handed over, or in the transport."""
        return self._pending + self._in_flight + self._backlog

    def push_message(self, prefix: bytes, tail: bytes) -> Outcome:
        """Queue one topic MESSAGE, unless this session cannot take it.

        A slow subscriber only falls behind itself, never its publisher: above high water the
        message is still queued (and the session cut if it stays there for
        `slow_consumer_grace_seconds`) unless `slow_consumer_policy` is `drop`; past
        `max_output_buffer_bytes` the session is cut (or, with `drop`, the message skipped).
        """
        if self.closing:
            return Outcome.CLOSED
        used = self._pending + self._in_flight + self._backlog
        if used and used + len(prefix) + len(tail) > self._easy_limit:
            return self._push_above_high_water(prefix, tail, used, len(prefix) + len(tail))
        self._push(prefix, tail)
        return Outcome.DELIVERED

    def _push_above_high_water(self, prefix: bytes, tail: bytes, used: int, size: int) -> Outcome:
        drop = self._limits.slow_consumer_policy == "drop"
        if drop and used > self._high_water:
            self._broker.counters.messages_dropped += 1
            return Outcome.DROPPED
        if used + size > self._limits.max_output_buffer_bytes:
            return self._overflow(used + size)
        self._push(prefix, tail)
        if not drop and used + size > self._high_water and self.congested_since is None:
            self.congested_since = self._broker.now()
            self._reschedule()
        return Outcome.DELIVERED

    def push_queued(self, subscription: Subscription, message: StoredMessage) -> None:
        """Queue one queue MESSAGE, kept until acknowledged unless the subscription is auto-ack;
        the broker gives these only while `has_room()`."""
        prefix = subscription.prefix
        if subscription.ack != "auto":
            message_id = message.headers["message-id"]
            self.unacked[message_id] = Delivery(subscription, message)
            subscription.unacked += 1
            if self.version == "1.2":
                prefix += f"ack:{message_id}\n".encode()
        headers = encode_headers(list(message.headers.items()), self.version)
        self._push(prefix, b"".join((headers, b"\n", message.body, b"\x00")))

    def has_room(self) -> bool:
        """Whether a queue may hand this session another message (credit by output bytes)."""
        return not self.closing and self._used() <= self._high_water

    def _overflow(self, used: int) -> Outcome:
        if self._limits.slow_consumer_policy == "drop":
            self._broker.counters.messages_dropped += 1
            return Outcome.DROPPED
        self._cut(
            f"slow consumer: {used} bytes would be waiting to be sent, more than "
            f"limits.max_output_buffer_bytes={self._limits.max_output_buffer_bytes}; "
            "disconnected (limits.slow_consumer_policy=disconnect)"
        )
        return Outcome.CUT

    def _cut(self, reason: str) -> None:
        """End a slow consumer: what it has not taken yet is dropped, and its transport resets
        the connection (the ERROR is said, should it be read before the reset)."""
        self._broker.counters.slow_consumers_dropped += 1
        self.cut = True
        self._chunks.clear()
        self._pending = 0
        self.fail(reason)

    def _relieve(self) -> None:
        """The socket drained below high water: it is no longer on its way to being cut."""
        self.congested_since = None
        self._reschedule()

    def _wait_for(self, gate: FlowGate) -> None:
        """Read no more frames from this client until `gate` opens (see reading_paused)."""
        gate.waiting[self] = None
        if self._waiting_on is None:
            self._waiting_on = {}
        self._waiting_on[gate] = None

    def gate_opened(self, gate: FlowGate) -> None:
        """A queue this session waited for is back below high water (FlowGate.open)."""
        if self._waiting_on is None:
            return
        self._waiting_on.pop(gate, None)
        if not self._waiting_on:
            self._signal_output()  # the transport's next flush resumes reading

    def data_to_send(self) -> list[bytes]:
        """Everything queued since the last call, as chunks to write in order; the store
        commits first, so no RECEIPT leaves before what it confirms is on disk."""
        self._signalled = False
        if self._store.dirty:
            self._store.commit()
        if not self._chunks:
            return []
        if self._send_interval:
            self._last_output = self._broker.now()
        chunks = self._chunks
        self._chunks = []
        self._broker.counters.bytes_out += self._pending
        self._in_flight += self._pending
        self._pending = 0
        return chunks

    def note_backlog(self, nbytes: int) -> None:
        """The transport's own unsent bytes, after it has taken what data_to_send gave it
        and whenever its socket drains: below high water, held work goes on."""
        self._backlog = nbytes
        self._in_flight = 0
        if not (self.congested_since is not None or self._input_held or self._queue_subscriptions):
            return  # nothing waits for this session's output to drain (the common case)
        if self.closing or self._used() > self._high_water:
            return
        if self.congested_since is not None:
            self._relieve()
        if self.connected:
            for subscription in list(self.subscriptions.values()):
                if subscription.parsed.kind == "queue":
                    self._broker.dispatch(subscription.parsed)
        self._handle_input()

    def note_transport_output(self, nbytes: int) -> bool:
        """The transport queued bytes of its own for this client (a WebSocket pong, which
        websockets sends by itself) and now holds `nbytes` unsent: they count against the
        output limits as the session's own output does. False once that is past
        `max_output_buffer_bytes`: the client is cut as a slow consumer, and the transport
        should drop the connection at once, since a client that does not read will not read
        the ERROR, and could make it queue more pongs meanwhile."""
        if self.closing:
            return True
        self._backlog = nbytes
        used = self._used()
        if used <= self._limits.max_output_buffer_bytes:
            return True
        self._cut(
            f"slow consumer: {used} bytes (pongs included) waiting to be sent, more than "
            f"limits.max_output_buffer_bytes={self._limits.max_output_buffer_bytes}; disconnected"
        )
        return False

    # Ending

    def fail(
        self, reason: str, *, receipt: str | None = None, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Send an ERROR frame saying why, then close."""
        if self.closing:
            return
        headers = [("message", reason), *headers, ("content-type", "text/plain")]
        if receipt is not None:
            headers.append(("receipt-id", receipt))
        body = f"{reason}\n".encode()
        headers.append(("content-length", str(len(body))))
        error = encode_frame("ERROR", headers, body, version=self.version)
        if self._used() + len(error) > self._limits.max_output_buffer_bytes:
            # The ERROR counts against the output limit too: it goes alone, instead of after
            # more than a client may have waiting.
            self._chunks.clear()
            self._pending = 0
        self._push(error)
        self.close(f"error: {reason}")

    def close(self, reason: str) -> None:
        """Stop taking frames and messages; the transport closes once output is written."""
        if self.closing:
            return
        self.state = State.CLOSING
        self.close_reason = reason
        self._detach()
        self._signal_output()

    def connection_lost(self, reason: str) -> None:
        """The socket is gone: release everything the session held."""
        if not self.closing:
            self.state = State.CLOSING
            self.close_reason = reason
        self._detach()
        self._broker.gone(self)

    def _detach(self) -> None:
        if self._passcode_check is not None:
            self._passcode_check.cancel()  # nobody is left to tell: its hash is not computed
            self._passcode_check = None
        if self.congested_since is not None:
            self._relieve()
        for gate in self._waiting_on or ():
            gate.waiting.pop(self, None)
        self._waiting_on = None
        for subscription in self.subscriptions.values():
            self._broker.unsubscribe(subscription)
        self.subscriptions.clear()
        self._queue_subscriptions = 0
        self._release(list(self.unacked))
        self._transactions.clear()
        self._transaction_bytes = 0
        self.deadline = None
        self._broker.forget(self)

    # Time

    def on_timer(self, now: float) -> None:
        """Close a client that never connected, went silent, outlived its token or whose
        output stayed above high water too long; send a heart-beat that is due."""
        if not self.connected:
            if self.deadline is not None and now >= self.deadline:
                self.fail(f"no CONNECT frame within {CONNECT_TIMEOUT_SECONDS:g} seconds")
            return
        grace = self._limits.slow_consumer_grace_seconds
        if self.congested_since is not None and now >= self.congested_since + grace:
            self._cut(
                f"slow consumer: its output stayed above limits.output_high_water_bytes="
                f"{self._high_water} for limits.slow_consumer_grace_seconds={grace:g}; "
                "disconnected"
            )
            return
        if self._token_deadline is not None and now >= self._token_deadline:
            self.fail("token expired: the connection ends with its token; reconnect with a new one")
            return
        if self._waiting_on:
            # Held back by a queue's flow control, the broker is not listening: silence proves
            # nothing. Paused for its own unread output, the client is the one not listening.
            self._last_input = now
        if self._receive_window and now >= self._last_input + self._receive_window:
            self._broker.counters.heartbeat_timeouts += 1
            self.fail(
                f"no heart-beat from the client for {self._receive_window:g} s "
                f"(negotiated interval × limits.heartbeat_grace="
                f"{self._limits.heartbeat_grace:g})"
            )
            return
        if self._send_interval and now >= self._last_output + self._send_interval:
            self._push(b"\n")
            self._last_output = now
        self._reschedule()

    def _reschedule(self) -> None:
        """Recompute the earliest deadline; an output or input since only makes the broker's
        timer fire early, once, after which this runs again."""
        times = []
        if self._send_interval:
            times.append(self._last_output + self._send_interval)
        if self._receive_window:
            times.append(self._last_input + self._receive_window)
        if self.congested_since is not None:
            times.append(self.congested_since + self._limits.slow_consumer_grace_seconds)
        if self._token_deadline is not None:
            times.append(self._token_deadline)
        self.deadline = min(times) if times else None
        self._broker.schedule(self)


def _frame_size(frame: Frame) -> int:
    """Roughly the bytes a parsed frame holds: its headers and body."""
    return len(frame.body) + sum(
        len(name) + len(value) + 2 for name, value in frame.headers.items()
    )
