"""The command line: options over the config file, one-line errors, and `hash-passcode`."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from broker.config import (
    TLS,
    BrokerConfig,
    ConfigError,
    Listener,
    User,
    load_config,
    parse_address,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage on errors; we print one line naming the option and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"stomp-broker: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """Every option with its default in the help text."""
    defaults = BrokerConfig()
    parser = _OneLineParser(
        prog="stomp-broker",
        description="STOMP 1.0/1.1/1.2 broker over TCP and WebSocket in one process. "
        "Command-line options override the config file.",
    )
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help=f"STOMP over TCP listener, or 'off' (default: {_show(defaults.tcp)})",
    )
    parser.add_argument(
        "--ws",
        metavar="HOST:PORT",
        help=f"STOMP over WebSocket listener at path {defaults.ws_path}, with /stats and "
        f"/healthz on the same port, or 'off' (default: {_show(defaults.ws)})",
    )
    parser.add_argument(
        "--config", metavar="FILE", type=Path, help="TOML settings file (default: none)"
    )
    parser.add_argument(
        "--user",
        metavar="LOGIN:PASSCODE",
        action="append",
        default=[],
        help="add a user with every right; repeatable (default: none)",
    )
    parser.add_argument(
        "--allow-anonymous",
        action="store_true",
        default=None,
        help="accept CONNECT without credentials (default: refused)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"logging verbosity (default: {defaults.log_level})",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="FILE",
        type=Path,
        help="TLS certificate for both listeners (default: no TLS)",
    )
    parser.add_argument(
        "--tls-key",
        metavar="FILE",
        type=Path,
        help="TLS private key for --tls-cert (default: none)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "hash-passcode",
        help="read a passcode from a prompt (or stdin) and print its hash for the config file",
    )
    return parser


def _show(listener: Listener | None) -> str:
    return "off" if listener is None else f"{listener.host}:{listener.port}"


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    """The config file (if any) with the command-line options laid over it."""
    config = load_config(args.config) if args.config else BrokerConfig()
    changes: dict[str, object] = {}
    if args.tcp is not None:
        changes["tcp"] = parse_address(args.tcp, name="--tcp")
    if args.ws is not None:
        changes["ws"] = parse_address(args.ws, name="--ws")
    if args.allow_anonymous:
        changes["allow_anonymous"] = True
    if args.log_level:
        changes["log_level"] = args.log_level
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key: give both or neither")
    if args.tls_cert is not None:
        for option, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
            if not path.is_file():
                raise ConfigError(f"{option}: no such file {str(path)!r}")
        changes["tls"] = TLS(certfile=args.tls_cert, keyfile=args.tls_key)
    if changes.get("log_level", config.log_level) not in LOG_LEVELS:
        raise ConfigError(
            f"log_level: expected one of {', '.join(LOG_LEVELS)}, got {config.log_level!r}"
        )
    if args.user:
        changes["users"] = config.users + tuple(_user(value) for value in args.user)
    return dataclasses.replace(config, **changes)


def _user(value: str) -> User:
    from broker.auth import hash_passcode

    login, sep, passcode = value.partition(":")
    if not sep or not login:
        raise ConfigError(f"--user: expected LOGIN:PASSCODE, got {value!r}")
    return User(login=login, passcode_hash=hash_passcode(passcode))


def hash_passcode_command() -> int:
    """Print the hash of a passcode typed at a prompt, or piped on stdin."""
    from broker.auth import hash_passcode

    if sys.stdin.isatty():
        passcode = getpass.getpass("Passcode: ")
        if getpass.getpass("Again: ") != passcode:
            print("stomp-broker: error: the passcodes differ", file=sys.stderr)
            return 2
    else:
        passcode = sys.stdin.readline().rstrip("\r\n")
    if not passcode:
        print("stomp-broker: error: empty passcode", file=sys.stderr)
        return 2
    print(hash_passcode(passcode))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m broker` and `stomp-broker`."""
    args = build_parser().parse_args(argv)
    if args.command == "hash-passcode":
        return hash_passcode_command()
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print(f"stomp-broker: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from broker.server import run

    try:
        return run(config)
    except OSError as error:
        print(f"stomp-broker: error: cannot listen: {error}", file=sys.stderr)
        return 1
