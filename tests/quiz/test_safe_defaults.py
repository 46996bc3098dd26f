"""What the site does with nothing configured, however it is started (`make run`,
`manage.py rungame`, gunicorn): nothing that helps a stranger."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.db import connection

from quiz import settings as site_settings
from quiz.sqlite_backend.base import DatabaseWrapper


def test_debug_is_off_unless_asked_for(fresh_settings) -> None:
    """`manage.py rungame` on its own serves as `make run` does: no tracebacks to visitors."""
    result = fresh_settings("DEBUG")
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


def test_debug_1_turns_it_on_to_develop(fresh_settings) -> None:
    assert fresh_settings("DEBUG", DEBUG="1").stdout.strip() == "True"


def test_the_site_hashes_passwords_slowly_and_only_its_tests_hash_them_fast() -> None:
    """A stolen database costs a guesser Django's PBKDF2 per try; the tests, which make a user
    in most games, use MD5 as Django's docs advise (quiz/settings_for_tests.py)."""
    assert "PASSWORD_HASHERS" not in vars(site_settings)
    assert get_hasher().algorithm == "md5"


def sqlite_files(directory: Path) -> dict[str, int]:
    """The database's files in `directory` (itself, its WAL and shared memory) by mode."""
    return {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in directory.iterdir()
        if path.name.startswith("db.sqlite3") and not path.name.endswith(".write-lock")
    }


@pytest.fixture
def site_database(django_db_blocker) -> Callable[[Path], ContextManager[sqlite3.Connection]]:
    """`with site_database(path) as database`: a connection to an SQLite database at `path`
    as the site opens its own (WAL and all), under the usual umask, which would make new files
    readable by everyone."""

    @contextlib.contextmanager
    def open_database(path: Path) -> Iterator[sqlite3.Connection]:
        umask = os.umask(0o022)
        # the site's SQLite settings, whatever database this test run is on
        sqlite = {
            "ENGINE": "quiz.sqlite_backend",
            "NAME": str(path),
            "OPTIONS": settings.SQLITE_OPTIONS,
        }
        database = DatabaseWrapper({**connection.settings_dict, **sqlite})
        try:
            with django_db_blocker.unblock():
                database.connect()
                yield database.connection
                database.close()
        finally:
            os.umask(umask)

    return open_database


def test_the_database_and_its_wal_are_made_for_their_owner_alone(
    tmp_path: Path, site_database
) -> None:
    """Sessions and password hashes: no other user of the machine reads them."""
    with site_database(tmp_path / "db.sqlite3") as database:
        database.execute("CREATE TABLE secrets (value TEXT)")
        database.execute("INSERT INTO secrets VALUES ('a session')")
        files = sqlite_files(tmp_path)
    assert {"db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"} <= files.keys()
    assert set(files.values()) == {0o600}


def test_a_database_made_readable_by_an_older_version_is_closed_when_opened(
    tmp_path: Path, site_database
) -> None:
    path = tmp_path / "db.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with site_database(path) as database:
        database.execute("CREATE TABLE secrets (value TEXT)")
        files = sqlite_files(tmp_path)
    assert set(files.values()) == {0o600}


COUNT_ROWS = """
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM t").fetchone()[0])
"""


@pytest.mark.integration  # another process reads the database
def test_a_new_connection_leaves_the_locks_of_this_processs_others_alone(tmp_path: Path) -> None:
    """fcntl locks belong to the process and the file: had making the file its owner's opened
    and closed it, this process's connections would lose their lock on it, the next process
    to close the database would take itself for the last one and remove the WAL, and what this
    process wrote next would be seen by no other."""
    import subprocess
    import sys

    from quiz.sqlite_backend.base import keep_to_owner

    def rows_another_process_sees() -> str:
        return subprocess.run(
            [sys.executable, "-c", COUNT_ROWS, name], capture_output=True, text=True, timeout=30
        ).stdout.strip()

    name = str(tmp_path / "db.sqlite3")
    keep_to_owner(name)
    site = sqlite3.connect(name, isolation_level=None)
    site.execute("PRAGMA journal_mode=WAL")
    site.execute("CREATE TABLE t (x)")
    keep_to_owner(name)  # what each new connection of this process does first
    assert rows_another_process_sees() == "0"
    site.execute("INSERT INTO t VALUES (1)")
    assert rows_another_process_sees() == "1"
