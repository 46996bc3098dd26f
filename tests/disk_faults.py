"""A disk that refuses writes, for real: while in `disk_refuses_writes()`, this process may not
write past the first byte of any file (RLIMIT_FSIZE), so SQLite's writes to its WAL fail as
on a full or failing disk ("disk I/O error"), whatever the file permissions (tests run as
root here, which no chmod stops)."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator


@contextlib.contextmanager
def disk_refuses_writes() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))  # Python ignores SIGXFSZ: EFBIG
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
