"""Django's SQLite backend, with write transactions queued in Python and the kernel, and
database files only their owner can read.

SQLite lets one transaction write at a time. A connection that finds the database locked
waits in SQLite's busy handler, which sleeps and polls: with dozens of site threads writing at
once, a writer can sleep for seconds while the lock is free most of the time, and past the
timeout it fails with "database is locked". Here every write transaction (SQLite's transactions
are BEGIN IMMEDIATE, see settings) first takes this process's write lock, then an exclusive
flock() on a file beside the database, which the kernel hands from process to process: so the
writers of one or several site processes run back to back and never poll.
"""

import fcntl
import os
import threading
from typing import IO, Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_process_write_lock = threading.Lock()

# The database holds sessions and password hashes: no other user of the machine reads them.
FILE_MODE = 0o600


def keep_to_owner(name: str) -> None:
    """Make the database file `name` its owner's alone before SQLite opens it: created 0600
    whatever the umask, or made 0600 if an older version left it readable. SQLite creates the
    WAL and shared-memory files beside it with the database file's mode.

    An existing file is never opened here: closing any descriptor of it would drop the POSIX
    locks every SQLite connection of this process holds on it (fcntl locks belong to the
    process and the file, not the descriptor), and other processes would then read and write
    past them."""
    if not os.path.exists(name):
        os.close(os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for path in (name, f"{name}-wal", f"{name}-shm"):
        try:
            if os.stat(path).st_mode & 0o777 != FILE_MODE:
                os.chmod(path, FILE_MODE)
        except FileNotFoundError:
            pass  # no WAL yet: SQLite makes it with the database's mode


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _lock_file: IO[bytes] | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if not self.is_in_memory_db():
            keep_to_owner(self.settings_dict["NAME"])
        return super().get_new_connection(conn_params)

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not _process_write_lock.acquire(timeout=timeout):
            raise OperationalError(f"database is locked: no turn to write in {timeout:.0f} s")
        self._holds_write_lock = True
        try:
            if not self.is_in_memory_db():
                if self._lock_file is None:
                    self._lock_file = open(f"{self.settings_dict['NAME']}.write-lock", "ab")
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            _process_write_lock.release()

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_write_lock()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None
