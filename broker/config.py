"""The broker's settings: one dataclass tree, read from TOML and the command line.

Every setting has a default that works on a laptop, so `python -m broker` needs no file.
Each field's `doc` is what GUIDE.md's configuration reference says about it (written
by `python -m broker.config_reference`), so the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
import urllib.parse
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from broker.destinations import DestinationError, parse_destination

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and says what is expected."""


def setting(default: Any = MISSING, *, doc: str, **reading: Any) -> Any:
    """A field with the sentence the configuration reference prints for it, and how the
    config file gives it (`reading`): `key`, its TOML key when not its name; `inline`, its
    keys stand in its parent's table; `zero_allowed`, a number that may be 0 (every other
    number is a count, a size or a time, so above zero)."""
    return field(default=default, metadata={"doc": doc, **reading})


@dataclass(frozen=True)
class Listener:
    """Where one transport listens; `None` in BrokerConfig turns that transport off."""

    host: str
    port: int


@dataclass(frozen=True)
class TLS:
    """A certificate and key that both listeners use when set."""

    certfile: Path = setting(doc="PEM certificate (chain) both listeners present.")
    keyfile: Path = setting(doc="PEM private key of `certfile`.")


@dataclass(frozen=True)
class Permissions:
    """Glob patterns (`*` matches any run of characters) over full destinations."""

    read: tuple[str, ...] = setting(
        (),
        doc="Destinations a SUBSCRIBE may name, as globs over the full destination "
        '(`"/topic/games.*"`); a wildcard subscription needs one glob covering every topic '
        "it can receive. An empty list grants nothing.",
    )
    write: tuple[str, ...] = setting(
        (), doc="Destinations a SEND may name, as globs. An empty list grants nothing."
    )
    announce: tuple[str, ...] = setting(
        (),
        doc="Topics (globs over `/topic/…`) a SUBSCRIBE with `presence:announce` may announce "
        "this login on. None by default.",
    )
    watch: tuple[str, ...] = setting(
        (),
        doc="Topics (globs over `/topic/…`) whose presence (`/presence/<name>`) this login may "
        "subscribe to. None by default: `read` grants no presence.",
    )


@dataclass(frozen=True)
class User:
    """A login with a hashed passcode (see `broker.auth.hash_passcode`) and its rights."""

    login: str = setting(doc="The CONNECT `login`.")
    passcode_hash: str = setting(
        doc="The output of `python -m broker hash-passcode` (PBKDF2); never the passcode."
    )
    permissions: Permissions = setting(
        Permissions(read=("*",), write=("*",)), doc="Its `read` and `write` globs.", inline=True
    )
    listeners: tuple[str, ...] | None = setting(
        None,
        doc='The listeners (`"tcp"`, `"ws"`) that take this login; not set: both. Give a '
        'publisher `["tcp"]` so its leaked passcode is no use from a browser.',
    )
    loopback_only: bool = setting(
        False,
        doc="Only from 127.0.0.0/8 or ::1, as RabbitMQ's `loopback_users`; a CONNECT from "
        "elsewhere with the right passcode gets an ERROR saying so.",
    )


@dataclass(frozen=True)
class Tokens:
    """Signed tokens for browsers: a secret shared with the app that issues them."""

    secret: str | None = setting(
        None,
        doc="HS256 secret shared with the app that issues tokens; a CONNECT whose passcode is "
        "a token signed with it is let in with the token's scopes. Not set: no tokens.",
    )
    resource_server_id: str = setting(
        "broker", doc="The tokens' audience (`aud`) and the prefix of their scopes."
    )
    clock_skew_seconds: float = setting(
        10.0,
        doc="How far ahead of the broker's clock the issuer's may be: a revocation (an "
        "administrator's DELETE) also refuses the tokens whose `iat` is up to this much after "
        "it, so a token issued before the cut by an issuer whose clock runs ahead is refused "
        "too; a token issued this long after the cut is taken.",
        zero_allowed=True,
    )


@dataclass(frozen=True)
class Http:
    """Who may use the HTTP side of the WebSocket port (`/healthz` is always open)."""

    stats_users: tuple[str, ...] = setting(
        (),
        doc="Logins (of `[[users]]` or `--user`) that may GET `/stats` with HTTP basic "
        "authentication. Empty and `stats_open` false: `/stats` answers 403.",
    )
    admin_users: tuple[str, ...] = setting(
        (),
        doc="Logins (of `[[users]]` or `--user`) that may close other logins' connections "
        "with HTTP basic authentication: `DELETE /api/connections/username/<login>`, as "
        "RabbitMQ's management API. Empty: the call answers 403.",
    )
    stats_open: bool = setting(False, doc="`/stats` for anyone, with no login (a laptop).")
    allowed_hosts: tuple[str, ...] | None = setting(
        None,
        doc="Host header names `/stats` answers to (against DNS rebinding); not set: "
        "`localhost`, `127.0.0.1`, `::1` and the ws listener's host.",
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        doc="Origins a browser's WebSocket upgrade may come from (others get 403); a "
        "request without `Origin` (not a browser) is always taken. Empty: any origin.",
    )


@dataclass(frozen=True)
class Limits:
    """Caps that protect the broker; breaking one gets an ERROR frame naming it."""

    max_frame_bytes: int = setting(
        4 * 1024 * 1024, doc="A larger frame: ERROR, refused as its bytes arrive."
    )
    max_connect_frame_bytes: int = setting(
        16 * 1024,
        doc="Bytes before CONNECT succeeds (a token as passcode needs a few KiB); over "
        "WebSocket a larger message is refused with close code 1009.",
    )
    max_headers: int = setting(100, doc="Headers in one frame.")
    max_header_bytes: int = setting(8 * 1024, doc="Bytes of one frame's headers.")
    max_connections: int = setting(
        100_000,
        doc="A connection past it gets an ERROR at once; connections that ended and whose "
        "socket is not gone yet count too.",
    )
    max_subscriptions_per_connection: int = setting(1_000, doc="A SUBSCRIBE past it: ERROR.")
    max_http_answer_bytes: int = setting(
        64 * 1024 * 1024,
        doc="Bytes of the HTTP subscribers' answers (`/poll`, `/sse`) held at once, until "
        "each client has taken its answer and gone: a request past it gets 503, and may try "
        "again later.",
    )
    max_pending_logins: int = setting(
        200,
        doc="Passcode checks (PBKDF2, one thread) waiting at once, CONNECTs and HTTP basic "
        "logins together; a login past it: ERROR (HTTP 503), try again later. A login "
        "checked right before skips the wait.",
    )
    max_pending_logins_per_host: int = setting(
        20, doc="The same, from one client address: one flooding client cannot take them all."
    )
    max_queue_messages: int = setting(
        100_000, doc="A SEND to a queue this deep (one nobody consumes): ERROR."
    )
    queue_high_water_messages: int = setting(
        10_000,
        doc="A queue with subscribers deeper than this: its publishers are not read from "
        "until its consumers catch up.",
    )
    output_high_water_bytes: int = setting(
        1024 * 1024,
        doc="A connection whose unsent output is above it gets no more queue messages and is "
        "not read from until it drains; a topic subscriber above it for "
        "`slow_consumer_grace_seconds` is a slow consumer. Its publishers never wait for it.",
    )
    slow_consumer_grace_seconds: float = setting(
        5.0,
        doc="A connection whose output (topic messages, RECEIPTs) stays above high water this "
        "long is a slow consumer (see `slow_consumer_policy`).",
    )
    max_output_buffer_bytes: int = setting(
        8 * 1024 * 1024,
        doc="Hard cap of one connection's unsent output (WebSocket pongs included): past it, "
        "ERROR and disconnect. At least `max_frame_bytes` + `output_high_water_bytes`.",
    )
    slow_consumer_policy: str = setting(
        "disconnect",
        doc='`"disconnect"`: a slow consumer is disconnected (reset, its output dropped); '
        '`"drop"`: topic messages past high water are skipped for it (counted in `/stats` '
        "`messages_dropped`). Either way, only its own deliveries suffer.",
    )
    default_prefetch_count: int = setting(
        100,
        doc="Unacknowledged messages a client-ack queue subscription holds when its "
        "SUBSCRIBE has no `prefetch-count` header.",
    )
    heartbeat_grace: float = setting(
        1.5,
        doc="A client silent for this many times its negotiated heart-beat interval: "
        "ERROR, closed.",
    )
    max_transactions_per_connection: int = setting(
        10, doc="Open transactions of one connection; a BEGIN past it: ERROR."
    )
    max_transaction_frames: int = setting(
        1_000, doc="Frames one open transaction holds until COMMIT or ABORT."
    )
    max_transaction_bytes: int = setting(
        4 * 1024 * 1024, doc="Bytes all open transactions of a connection hold together."
    )


@dataclass(frozen=True)
class Store:
    """Where queued messages live: `memory`, or `sqlite` in `directory` to survive crashes."""

    kind: str = setting(
        "memory",
        doc='`"memory"`, or `"sqlite"`: a queue message is on disk before its RECEIPT leaves '
        "and unacknowledged messages survive a crash (`kill -9` included).",
    )
    directory: Path | None = setting(
        None,
        doc='Folder of the SQLite file, relative to the config file; required with `"sqlite"`.',
    )


@dataclass(frozen=True)
class History:
    """Topics that keep their last messages, so a subscriber back from a drop can resume."""

    pattern: str = setting(
        doc='The topics that keep history, with the subscription wildcards (`"/topic/games.*'
        '.status"`: `*` one word, `#` any); each topic it matches keeps its own.'
    )
    max_messages: int = setting(100, doc="Messages each topic keeps, newest last.")
    max_age_seconds: float | None = setting(
        None, doc="Messages older than this are no longer replayed. Not set: no age limit."
    )
    max_bytes_per_topic: int = setting(
        256 * 1024,
        doc="Bytes of memory each topic's kept messages hold (a message holds its body and "
        "headers, and its MESSAGE frame as encoded for each STOMP version its subscribers "
        "speak: two to four times its size); the oldest go first.",
    )
    max_topics: int = setting(
        1_000,
        doc="Topics this pattern keeps history for; past it the one published to least "
        "recently is forgotten. Memory is at most `max_topics` × `max_bytes_per_topic`.",
    )


@dataclass(frozen=True)
class Binding:
    """A queue that gets a copy of every message sent to the topics a pattern matches, as a
    RabbitMQ queue bound to amq.topic does: many clients may each write to a topic of their
    own while one or more consumers take turns at the queue."""

    pattern: str = setting(
        doc="The topics whose messages the queue gets, with the subscription wildcards "
        '(`"/topic/games.*.answers.*"`: `*` one word, `#` any).'
    )
    queue: str = setting(
        doc='The queue, as a destination (`"/queue/answers"`). Its copies keep the topic\'s '
        "`destination` and carry `timestamp_in_ms`, when the SEND reached the broker (a "
        "client's own header of that name is dropped); they are stored like any queue "
        "message, on disk before the SEND's RECEIPT with the sqlite store."
    )


@dataclass(frozen=True)
class Webhook:
    """A receiver told when topics become occupied or vacated (see Webhooks)."""

    pattern: str = setting(
        doc='The topics it hears about, with the subscription wildcards (`"/topic/games.*"`: '
        "`*` one word, `#` any), matched against the destination each SUBSCRIBE names."
    )
    url: str = setting(doc="Where the events are POSTed: an `http://` or `https://` URL.")
    secret: str = setting(
        doc="Shared with the receiver: each POST carries the HMAC-SHA256 of its timestamp and "
        "body under it, in `Broker-Signature`."
    )
    max_attempts: int = setting(
        8, doc="POSTs of one batch of events before it is dropped (logged and counted)."
    )
    first_retry_seconds: float = setting(
        1.0, doc="Wait after the first failed POST; each further failure doubles it."
    )
    max_retry_seconds: float = setting(60.0, doc="The longest wait between two attempts.")
    timeout_seconds: float = setting(
        10.0, doc="A POST not answered within it (connect included) has failed."
    )
    max_queued_events: int = setting(
        10_000,
        doc="Events waiting for this receiver; past it new events are dropped (logged and "
        "counted), so a dead receiver costs at most this queue.",
    )
    max_batch_events: int = setting(100, doc="Events one POST carries at most, oldest first.")


@dataclass(frozen=True)
class BrokerConfig:
    """Everything the broker needs to run."""

    tcp: Listener | None = setting(
        Listener("127.0.0.1", 61613),
        doc='STOMP over TCP, as `"HOST:PORT"`, or `"off"`. Option `--tcp`.',
    )
    ws: Listener | None = setting(
        Listener("127.0.0.1", 15674),
        doc='STOMP over WebSocket, `/stats` and `/healthz`, as `"HOST:PORT"`, or `"off"`. '
        "Option `--ws`.",
    )
    ws_path: str = setting("/ws", doc="The path a WebSocket upgrade must ask for.")
    tls: TLS | None = setting(None, doc="TLS on both listeners. Options `--tls-cert`, `--tls-key`.")
    users: tuple[User, ...] = setting((), doc="One table per login. Option `--user`.")
    allow_anonymous: bool = setting(
        False,
        doc="Take a CONNECT without credentials, with `[anonymous]`'s rights. Option "
        "`--allow-anonymous`.",
    )
    anonymous_permissions: Permissions = setting(
        Permissions(read=("*",), write=("*",)),
        doc="What an anonymous client may read and write (with `allow_anonymous`).",
        key="anonymous",
    )
    tokens: Tokens = setting(Tokens(), doc="Signed tokens for browsers.")
    http: Http = setting(Http(), doc="The HTTP side of the WebSocket port.")
    limits: Limits = field(
        default_factory=Limits, metadata={"doc": "Caps that protect the broker."}
    )
    store: Store = setting(Store(), doc="Where queue messages are kept.")
    history: tuple[History, ...] = setting(
        (),
        doc="One table per topic pattern that keeps history for resuming subscribers (see "
        "History and resume). None: topics keep nothing.",
    )
    bindings: tuple[Binding, ...] = setting(
        (),
        doc="One table per queue bound to a topic pattern (see Destinations). None: topic "
        "messages go to topic subscribers only.",
    )
    webhooks: tuple[Webhook, ...] = setting(
        (),
        doc="One table per receiver POSTed to when a topic becomes occupied or vacated (see "
        "Webhooks). None: no webhooks.",
    )
    log_level: str = setting(
        "INFO", doc='`"DEBUG"`, `"INFO"`, `"WARNING"` or `"ERROR"`. Option `--log-level`.'
    )


SLOW_CONSUMER_POLICIES = ("disconnect", "drop")
LISTENERS = ("tcp", "ws")
STORE_KINDS = ("memory", "sqlite")


def parse_address(value: str, *, name: str) -> Listener | None:
    """`HOST:PORT` to a Listener; `off` turns the transport off."""
    if value.lower() in ("off", "none", ""):
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{name}: expected HOST:PORT (or 'off'), got {value!r}")
    return Listener(host.strip("[]") or "0.0.0.0", int(port))


def load_config(path: Path) -> BrokerConfig:
    """Read a TOML file into a BrokerConfig; any unknown or mistyped key is a ConfigError."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"--config: cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config: {path} is not valid TOML: {error}") from error
    return config_from_dict(data, base=path.parent)


def config_from_dict(data: dict[str, Any], *, base: Path = Path(".")) -> BrokerConfig:
    """Build a BrokerConfig from parsed TOML, resolving relative paths against `base`."""
    return _read(BrokerConfig, data, "config", base)


def _read(cls: type[T], table: Any, where: str, base: Path, default: T | None = None) -> T:
    """A `cls` from one TOML table, key by key as its fields declare them: each value checked
    against the field's type, a key left out keeping its default (or `default`'s), a required
    key left out or one the class does not declare refused by name; then `cls`'s own checks."""
    required = {
        item.name
        for item in fields(cls)  # type: ignore[arg-type]
        if item.default is MISSING and item.default_factory is MISSING
    }
    if not isinstance(table, dict):
        wanted = f" with {' and '.join(sorted(required))}" if required else ""
        raise ConfigError(f"{where}: expected a table{wanted}, got {table!r}")
    left = dict(table)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in fields(cls):  # type: ignore[arg-type]
        key, kind = item.metadata.get("key", item.name), hints[item.name]
        item_default = None if item.default is MISSING else item.default
        if item.metadata.get("inline"):  # its keys stand in this very table
            taken = {name: left.pop(name) for name in _field_names(kind) if name in left}
            values[item.name] = _read(kind, taken, where, base, item_default)
        elif key in left:
            name = key if where == "config" else f"{where}.{key}"
            values[item.name] = _value(item, kind, left.pop(key), name, base, item_default)
        elif item.name in required:
            raise ConfigError(f"{where}: missing {key!r}")
    if left:
        raise ConfigError(f"{where}: unknown setting {sorted(left)[0]!r}")
    read = dataclasses.replace(default, **values) if default is not None else cls(**values)
    for check in CHECKS.get(cls, ()):
        read = check(read, where) or read
    return read


def _field_names(cls: type) -> list[str]:
    """The field names of a dataclass."""
    return [item.name for item in fields(cls)]  # type: ignore[arg-type]


def _value(
    item: dataclasses.Field, kind: Any, value: Any, name: str, base: Path, default: Any
) -> Any:
    """One TOML value as its field declares it: `name` is how an error names the key (a
    top-level scalar as `config.<key>`, a table by its own name)."""
    scalar = name if "." in name else f"config.{name}"
    if typing.get_origin(kind) is types.UnionType:  # `X | None`: TOML has no null
        (kind,) = [option for option in typing.get_args(kind) if option is not type(None)]
    if kind is Listener:
        return parse_address(_typed(value, str, scalar), name=name)
    if dataclasses.is_dataclass(kind):
        return _read(kind, value, name, base, default)  # type: ignore[arg-type]
    if typing.get_origin(kind) is tuple:
        entries = _typed(value, list, scalar)
        entry_kind = typing.get_args(kind)[0]
        if dataclasses.is_dataclass(entry_kind):
            return tuple(
                _read(entry_kind, entry, f"{name}[{index}]", base)  # type: ignore[arg-type]
                for index, entry in enumerate(entries)
            )
        if not all(isinstance(entry, str) for entry in entries):
            raise ConfigError(f"{scalar}: expected a list of strings, got {entries!r}")
        return tuple(entries)
    if kind is Path:
        return base / _typed(value, str, scalar)
    if kind in (int, float):
        number = _typed(value, int if kind is int else (int, float), scalar)
        if number < 0 or (number == 0 and not item.metadata.get("zero_allowed")):
            raise ConfigError(f"{scalar}: must be positive, got {number!r}")
        return kind(number)
    return _typed(value, kind, scalar)


def _typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    """`value` if it is of `kind` (a bool is no number)."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")
    return value


def _topic_pattern(pattern: str, where: str) -> None:
    if not pattern.startswith("/topic/") or len(pattern) == len("/topic/"):
        raise ConfigError(f"{where}.pattern: expected a /topic/ destination, got {pattern!r}")


def _check_limits(limits: Limits, where: str) -> None:
    """Refuse limits that contradict each other, such as a frame that can never be sent."""
    if limits.slow_consumer_policy not in SLOW_CONSUMER_POLICIES:
        raise ConfigError(
            f"{where}.slow_consumer_policy: expected one of {', '.join(SLOW_CONSUMER_POLICIES)}"
        )
    room = limits.max_frame_bytes + limits.output_high_water_bytes
    if limits.max_output_buffer_bytes < room:
        raise ConfigError(
            f"limits.max_output_buffer_bytes={limits.max_output_buffer_bytes} must be at least "
            f"limits.max_frame_bytes + limits.output_high_water_bytes = {room}, or a subscriber "
            "below high water could not take one large message"
        )


def _check_user(user: User, where: str) -> None:
    if user.listeners is not None and not set(user.listeners) <= set(LISTENERS):
        raise ConfigError(
            f"{where}.listeners: expected names among {', '.join(LISTENERS)}, "
            f"got {list(user.listeners)!r}"
        )


def _check_store(store: Store, where: str) -> None:
    if store.kind not in STORE_KINDS:
        raise ConfigError(
            f"{where}.kind: expected one of {', '.join(STORE_KINDS)}, got {store.kind!r}"
        )
    if store.kind == "sqlite" and store.directory is None:
        raise ConfigError(f"{where}.directory: required when store.kind is 'sqlite'")


def _check_history(history: History, where: str) -> None:
    _topic_pattern(history.pattern, where)


def _check_binding(binding: Binding, where: str) -> None:
    """A /topic/ pattern and a /queue/ without wildcards."""
    _topic_pattern(binding.pattern, where)
    try:
        parsed = parse_destination(binding.queue)
    except DestinationError as error:
        raise ConfigError(f"{where}.queue: {error}") from None
    if parsed.kind != "queue" or parsed.is_pattern:
        raise ConfigError(f"{where}.queue: expected a /queue/ destination, got {binding.queue!r}")


def _check_webhook(webhook: Webhook, where: str) -> None:
    """A topic pattern, an http(s) URL with no credentials in it, a secret."""
    _topic_pattern(webhook.pattern, where)
    parts = urllib.parse.urlsplit(webhook.url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or past 65535
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(f"{where}.url: expected an http:// or https:// URL, got {webhook.url!r}")
    if "@" in parts.netloc:
        raise ConfigError(
            f"{where}.url: no user or password in the URL (it would be logged); the receiver "
            "checks Broker-Signature instead"
        )
    if not webhook.secret:
        raise ConfigError(f"{where}.secret: must not be empty (receivers check signatures)")


def _lower_hosts(http: Http, where: str) -> Http | None:
    """Host names compare without case."""
    if http.allowed_hosts is None:
        return None
    return dataclasses.replace(http, allowed_hosts=tuple(h.lower() for h in http.allowed_hosts))


def _upper_log_level(config: BrokerConfig, where: str) -> BrokerConfig:
    return dataclasses.replace(config, log_level=config.log_level.upper())


# What a table of each kind must also be, past its fields' types: each check raises a
# ConfigError naming the key, or gives the value as the broker uses it (None: as read).
CHECKS: dict[type, tuple[Callable[[Any, str], Any], ...]] = {
    Limits: (_check_limits,),
    User: (_check_user,),
    Store: (_check_store,),
    History: (_check_history,),
    Binding: (_check_binding,),
    Webhook: (_check_webhook,),
    Http: (_lower_hosts,),
    BrokerConfig: (_upper_log_level,),
}
