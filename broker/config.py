"""The broker's settings: one dataclass tree, read from TOML and the command line.

Every setting has a default that works on a laptop, so `python -m broker` needs no file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and says what is expected."""


@dataclass(frozen=True)
class Listener:
    """Where one transport listens; `None` in BrokerConfig turns that transport off."""

    host: str
    port: int


@dataclass(frozen=True)
class TLS:
    """A certificate and key that both listeners use when set."""

    certfile: Path
    keyfile: Path


@dataclass(frozen=True)
class Permissions:
    """Glob patterns (`*` matches any run of characters) over full destinations."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class User:
    """A login with a hashed passcode (see `broker.auth.hash_passcode`) and its rights."""

    login: str
    passcode_hash: str
    permissions: Permissions = Permissions(read=("*",), write=("*",))
    # The listeners (`tcp`, `ws`) that take this login; None for all of them.
    listeners: tuple[str, ...] | None = None
    # Only from 127.0.0.0/8 or ::1, as RabbitMQ's `loopback_users`.
    loopback_only: bool = False


@dataclass(frozen=True)
class Tokens:
    """Signed tokens for browsers: a secret shared with the app that issues them."""

    secret: str | None = None
    resource_server_id: str = "broker"


@dataclass(frozen=True)
class Http:
    """Who may use the HTTP side of the WebSocket port (`/healthz` is always open)."""

    # [[users]] logins that may GET /stats with HTTP basic authentication.
    stats_users: tuple[str, ...] = ()
    # [[users]] logins that may close other users' connections with HTTP basic authentication
    # (DELETE /api/connections/username/<login>, as RabbitMQ's management API).
    admin_users: tuple[str, ...] = ()
    # /stats for anyone, as on a laptop; otherwise it needs one of `stats_users`.
    stats_open: bool = False
    # Host header names /stats answers to; None: localhost, 127.0.0.1, ::1 and the ws
    # listener's host (a defence against DNS rebinding).
    allowed_hosts: tuple[str, ...] | None = None
    # Origin headers a WebSocket upgrade may carry (a request without one, from a client
    # that is not a browser, is always taken); empty: any.
    allowed_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    """Caps that protect the broker; breaking one gets an ERROR frame naming it."""

    max_frame_bytes: int = 4 * 1024 * 1024
    # Before authentication: a CONNECT (with a token as passcode) needs a few KiB.
    max_connect_frame_bytes: int = 16 * 1024
    max_headers: int = 100
    max_header_bytes: int = 8 * 1024
    max_connections: int = 100_000
    max_subscriptions_per_connection: int = 1_000
    max_queue_messages: int = 100_000
    # A consumed queue deeper than this pauses its publishers until its consumers catch up.
    queue_high_water_messages: int = 10_000
    # A connection's unsent output above this pauses its queues and the publishers feeding
    # it topic messages; held above it for the grace period, the subscriber is slow.
    output_high_water_bytes: int = 1024 * 1024
    slow_consumer_grace_seconds: float = 5.0
    # The hard cap: room for one max_frame_bytes message on top of high water.
    max_output_buffer_bytes: int = 8 * 1024 * 1024
    slow_consumer_policy: str = "disconnect"
    default_prefetch_count: int = 100
    heartbeat_grace: float = 1.5
    # What open transactions may hold per connection until COMMIT or ABORT.
    max_transactions_per_connection: int = 10
    max_transaction_frames: int = 1_000
    max_transaction_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class Store:
    """Where queued messages live: `memory`, or `sqlite` in `directory` to survive crashes."""

    kind: str = "memory"
    directory: Path | None = None


@dataclass(frozen=True)
class BrokerConfig:
    """Everything the broker needs to run."""

    tcp: Listener | None = Listener("127.0.0.1", 61613)
    ws: Listener | None = Listener("127.0.0.1", 15674)
    ws_path: str = "/ws"
    tls: TLS | None = None
    users: tuple[User, ...] = ()
    allow_anonymous: bool = False
    anonymous_permissions: Permissions = Permissions(read=("*",), write=("*",))
    tokens: Tokens = Tokens()
    http: Http = Http()
    limits: Limits = field(default_factory=Limits)
    store: Store = Store()
    log_level: str = "INFO"


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


def _take(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table.pop(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise ConfigError(f"{where}.{key}: expected {expected}, got {value!r}")
    return value


def _no_leftovers(table: dict[str, Any], where: str) -> None:
    if table:
        raise ConfigError(f"{where}: unknown setting {sorted(table)[0]!r}")


def _permissions(table: dict[str, Any], where: str, default: Permissions) -> Permissions:
    """A missing `read` or `write` list keeps the default; an empty list grants nothing."""
    read = tuple(_take(table, "read", list, where)) if "read" in table else default.read
    write = tuple(_take(table, "write", list, where)) if "write" in table else default.write
    for pattern in read + write:
        if not isinstance(pattern, str):
            raise ConfigError(f"{where}: permission patterns are strings, got {pattern!r}")
    return Permissions(read=read, write=write)


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = tuple(_take(table, key, list, where))
    if not all(isinstance(value, str) for value in values):
        raise ConfigError(f"{where}.{key}: expected a list of strings, got {list(values)!r}")
    return values


def _http(table: dict[str, Any]) -> Http:
    """`[http]`: logins in `stats_users` and `admin_users` are the logins of `[[users]]` or
    `--user`."""
    http = Http(
        stats_users=_strings(table, "stats_users", "http") if "stats_users" in table else (),
        stats_open=_take(table, "stats_open", bool, "http") if "stats_open" in table else False,
        admin_users=_strings(table, "admin_users", "http") if "admin_users" in table else (),
        allowed_hosts=(
            tuple(host.lower() for host in _strings(table, "allowed_hosts", "http"))
            if "allowed_hosts" in table
            else None
        ),
        allowed_origins=(
            _strings(table, "allowed_origins", "http") if "allowed_origins" in table else ()
        ),
    )
    _no_leftovers(table, "http")
    return http


def _checked_limits(limits: Limits) -> Limits:
    """Refuse limits that contradict each other, such as a frame that can never be sent."""
    room = limits.max_frame_bytes + limits.output_high_water_bytes
    if limits.max_output_buffer_bytes < room:
        raise ConfigError(
            f"limits.max_output_buffer_bytes={limits.max_output_buffer_bytes} must be at least "
            f"limits.max_frame_bytes + limits.output_high_water_bytes = {room}, or a subscriber "
            "below high water could not take one large message"
        )
    return limits


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
    data = dict(data)
    values: dict[str, Any] = {}
    for name in ("tcp", "ws"):
        if name in data:
            values[name] = parse_address(_take(data, name, str, "config"), name=name)
    if "ws_path" in data:
        values["ws_path"] = _take(data, "ws_path", str, "config")
    if "allow_anonymous" in data:
        values["allow_anonymous"] = _take(data, "allow_anonymous", bool, "config")
    if "log_level" in data:
        values["log_level"] = _take(data, "log_level", str, "config").upper()
    if "tls" in data:
        tls = dict(_take(data, "tls", dict, "config"))
        values["tls"] = TLS(
            certfile=base / _take(tls, "certfile", str, "tls"),
            keyfile=base / _take(tls, "keyfile", str, "tls"),
        )
        _no_leftovers(tls, "tls")
    if "users" in data:
        users = []
        for index, entry in enumerate(_take(data, "users", list, "config")):
            where = f"users[{index}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: expected a table with login and passcode_hash")
            entry = dict(entry)
            for required in ("login", "passcode_hash"):
                if required not in entry:
                    raise ConfigError(f"{where}: missing {required!r}")
            login = _take(entry, "login", str, where)
            passcode_hash = _take(entry, "passcode_hash", str, where)
            permissions = _permissions(entry, where, User.permissions)
            listeners = None
            if "listeners" in entry:
                listeners = tuple(_take(entry, "listeners", list, where))
                if not set(listeners) <= set(LISTENERS):
                    raise ConfigError(
                        f"{where}.listeners: expected names among {', '.join(LISTENERS)}, "
                        f"got {list(listeners)!r}"
                    )
            loopback_only = (
                _take(entry, "loopback_only", bool, where) if "loopback_only" in entry else False
            )
            _no_leftovers(entry, where)
            users.append(
                User(
                    login=login,
                    passcode_hash=passcode_hash,
                    permissions=permissions,
                    listeners=listeners,
                    loopback_only=loopback_only,
                )
            )
        values["users"] = tuple(users)
    if "anonymous" in data:
        anonymous = dict(_take(data, "anonymous", dict, "config"))
        values["anonymous_permissions"] = _permissions(
            anonymous, "anonymous", BrokerConfig.anonymous_permissions
        )
        _no_leftovers(anonymous, "anonymous")
    if "tokens" in data:
        tokens = dict(_take(data, "tokens", dict, "config"))
        values["tokens"] = Tokens(
            secret=_take(tokens, "secret", str, "tokens") if "secret" in tokens else None,
            resource_server_id=(
                _take(tokens, "resource_server_id", str, "tokens")
                if "resource_server_id" in tokens
                else Tokens.resource_server_id
            ),
        )
        _no_leftovers(tokens, "tokens")
    if "http" in data:
        values["http"] = _http(dict(_take(data, "http", dict, "config")))
    if "limits" in data:
        limits = dict(_take(data, "limits", dict, "config"))
        settings: dict[str, Any] = {}
        for key, default in Limits().__dict__.items():
            if key in limits:
                settings[key] = _take(
                    limits,
                    key,
                    (int, float) if isinstance(default, float) else type(default),
                    "limits",
                )
                if (
                    isinstance(default, int | float)
                    and not isinstance(default, bool)
                    and settings[key] <= 0
                ):
                    raise ConfigError(f"limits.{key}: must be positive, got {settings[key]!r}")
        _no_leftovers(limits, "limits")
        if settings.get("slow_consumer_policy", "disconnect") not in SLOW_CONSUMER_POLICIES:
            raise ConfigError(
                f"limits.slow_consumer_policy: expected one of {', '.join(SLOW_CONSUMER_POLICIES)}"
            )
        values["limits"] = _checked_limits(Limits(**settings))
    if "store" in data:
        store = dict(_take(data, "store", dict, "config"))
        kind = _take(store, "kind", str, "store") if "kind" in store else "memory"
        if kind not in STORE_KINDS:
            raise ConfigError(f"store.kind: expected one of {', '.join(STORE_KINDS)}, got {kind!r}")
        directory = base / _take(store, "directory", str, "store") if "directory" in store else None
        if kind == "sqlite" and directory is None:
            raise ConfigError("store.directory: required when store.kind is 'sqlite'")
        _no_leftovers(store, "store")
        values["store"] = Store(kind=kind, directory=directory)
    _no_leftovers(data, "config")
    return BrokerConfig(**values)
