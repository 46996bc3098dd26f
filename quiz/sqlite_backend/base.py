"""Django's SQLite backend, with the write transactions of one process queued in Python.

SQLite lets one transaction write at a time. A thread that finds the database locked waits in
SQLite's busy handler, which sleeps and polls: with dozens of site threads writing at once,
a writer can sleep for seconds while the lock is free most of the time, and past the timeout it
fails with "database is locked". Here every write transaction of this process (SQLite's
transactions are BEGIN IMMEDIATE, see settings) first takes one process-wide lock, so they run
back to back; the busy handler is left to guard against other processes (manage.py commands).
"""

import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_write_lock = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not _write_lock.acquire(timeout=timeout):
            raise OperationalError(f"database is locked: no turn to write in {timeout:.0f} s")
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            _write_lock.release()

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
