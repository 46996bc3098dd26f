"""A disk that refuses writes, for real: while in `disk_refuses_writes()`, this process may not
write past the first byte of any file (RLIMIT_FSIZE), so SQLite's writes to its WAL fail as
on a full or failing disk ("disk I/O error"), whatever the file permissions (tests run as
root here, which no chmod stops). Only SQLite writes from this process: PostgreSQL's server
writes on its own, so on it the tests that use this are skipped (its failures are tried by
restarting it mid-game: bench/faults.py, docs/operations.md)."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator

import pytest
from django.db import connection


@contextlib.contextmanager
def disk_refuses_writes() -> Iterator[None]:
    if connection.vendor != "sqlite":
        pytest.skip(f"a file-size limit on this process does not reach {connection.vendor}")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))  # Python ignores SIGXFSZ: EFBIG
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
