"""Secrets an installation makes for itself on first use, kept in files only their owner
reads, so that none of them is ever one that the repository publishes."""

import os
import secrets
import tempfile
from pathlib import Path


def secret_from_file(path: Path, *, nbytes: int) -> str:
    """The secret in `path`, made of `nbytes` random bytes (URL-safe text) on first use.

    The file is written whole under a temporary name and linked into place, so processes that
    start at once all end up with the one secret that won, and nobody reads half a file; only
    its owner can read it (0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as file:  # mkstemp makes it 0600
                file.write(secrets.token_urlsafe(nbytes))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
