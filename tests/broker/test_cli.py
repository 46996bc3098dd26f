"""The command line: help text, one-line errors, and the passcode hasher."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from broker.auth import verify_passcode
from broker.cli import build_parser, config_from_args
from broker.config import ConfigError, config_from_dict, load_config

REPO = Path(__file__).resolve().parents[2]


def run_broker(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_lists_every_option_with_its_default() -> None:
    result = run_broker("--help")
    assert result.returncode == 0
    for option in (
        "--tcp",
        "--ws",
        "--config",
        "--user",
        "--allow-anonymous",
        "--log-level",
        "--tls-cert",
        "--tls-key",
        "hash-passcode",
    ):
        assert option in result.stdout
    assert "127.0.0.1:61613" in result.stdout and "127.0.0.1:15674" in result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--tcp", "nope"), "--tcp"),
        (("--ws", "host:99999"), "--ws"),
        (("--log-level", "loud"), "--log-level"),
        (("--tls-cert", "missing.pem", "--tls-key", "missing.key"), "--tls-cert"),
        (("--config", "does-not-exist.toml"), "--config"),
        (("--bogus",), "--bogus"),
    ],
)
def test_bad_option_is_one_line_naming_it_and_exit_2(args: tuple[str, ...], named: str) -> None:
    result = run_broker(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and named in result.stderr


def test_bad_config_value_is_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text("[limits]\nmax_frame_bytes = -1\n")
    result = run_broker("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "limits.max_frame_bytes" in result.stderr


def test_output_cap_below_one_frame_above_high_water_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text("[limits]\nmax_output_buffer_bytes = 1048576\n")
    result = run_broker("--config", str(config))
    assert result.returncode == 2
    assert "limits.max_frame_bytes + limits.output_high_water_bytes" in result.stderr


def test_command_line_overrides_config_file(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text('tcp = "127.0.0.1:1111"\nws = "127.0.0.1:2222"\nlog_level = "DEBUG"\n')
    args = build_parser().parse_args(
        ["--config", str(config), "--tcp", "off", "--log-level", "error"]
    )
    settings = config_from_args(args)
    assert (settings.tcp, settings.ws.port if settings.ws else None, settings.log_level) == (
        None,
        2222,
        "ERROR",
    )


def test_hash_passcode_reads_stdin_and_prints_a_hash_of_it() -> None:
    result = run_broker("hash-passcode", stdin="s3cret\n")
    assert result.returncode == 0
    digest = result.stdout.strip()
    assert "s3cret" not in digest
    assert verify_passcode("s3cret", digest) and not verify_passcode("s3cret\n", digest)


def test_example_config_loads() -> None:
    config = load_config(REPO / "broker" / "example.toml")
    assert config.users and config.tokens.secret


def test_user_restrictions_are_read_from_the_config() -> None:
    config = config_from_dict(
        {
            "users": [
                {"login": "p", "passcode_hash": "x", "listeners": ["tcp"], "loopback_only": True},
                {"login": "q", "passcode_hash": "x"},
            ]
        }
    )
    assert [(u.listeners, u.loopback_only) for u in config.users] == [
        (("tcp",), True),
        (None, False),
    ]


@pytest.mark.parametrize(
    ("entry", "named"),
    [({"listeners": ["stomp"]}, "users[0].listeners"), ({"loopback_only": 1}, "loopback_only")],
)
def test_bad_user_restriction_is_an_error_naming_it(entry: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        config_from_dict({"users": [{"login": "p", "passcode_hash": "x", **entry}]})
