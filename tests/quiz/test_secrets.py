"""The site's secret: its own random key, never one anyone can read in the repository."""

from __future__ import annotations

import stat
from pathlib import Path

from real_broker import REPO

from quiz.local_secrets import secret_from_file
from quiz.settings import KNOWN_SECRET_KEYS, SECRET_KEY_BYTES

REPOSITORY_KEY = next(iter(KNOWN_SECRET_KEYS))


def test_first_use_makes_a_long_random_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key = secret_from_file(tmp_path / "secret_key", nbytes=SECRET_KEY_BYTES)
    assert len(key) >= 50
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_the_key_is_kept_across_starts_and_differs_between_installations(tmp_path: Path) -> None:
    first = secret_from_file(tmp_path / "a" / "secret_key", nbytes=SECRET_KEY_BYTES)
    assert secret_from_file(tmp_path / "a" / "secret_key", nbytes=SECRET_KEY_BYTES) == first
    assert secret_from_file(tmp_path / "b" / "secret_key", nbytes=SECRET_KEY_BYTES) != first


def test_without_secret_key_the_site_uses_its_own_key_file(fresh_settings) -> None:
    result = fresh_settings("SECRET_KEY")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (REPO / "var" / "secret_key").read_text().strip()
    assert result.stdout.strip() not in KNOWN_SECRET_KEYS


def test_secret_key_from_the_environment_wins(fresh_settings) -> None:
    result = fresh_settings("SECRET_KEY", SECRET_KEY="an-operator-chosen-key-" + "x" * 40)
    assert result.stdout.strip() == "an-operator-chosen-key-" + "x" * 40


def test_with_debug_off_the_repository_key_is_refused_with_what_to_set(fresh_settings) -> None:
    result = fresh_settings("SECRET_KEY", DEBUG="0", SECRET_KEY=REPOSITORY_KEY)
    assert result.returncode != 0
    assert "Set SECRET_KEY to a long random value" in result.stderr


def test_with_debug_off_an_empty_key_is_refused(fresh_settings) -> None:
    result = fresh_settings("SECRET_KEY", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is empty" in result.stderr


def test_the_broker_passcode_is_not_the_one_the_repository_key_gives() -> None:
    import hashlib

    from quiz import settings as site_settings

    published = hashlib.sha256(f"stomp-passcode:{REPOSITORY_KEY}".encode()).hexdigest()
    assert site_settings.STOMP_PASSCODE != published
