"""Who a connection is and what it may do: hashed passcodes, and the rights a login carries.

`ConfigAuthenticator` plugs into coilmq's `Authenticator` seam; `Authority` is what a session
keeps after CONNECT and asks on every SUBSCRIBE and SEND.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from fnmatch import fnmatchcase

from coilmq.auth import Authenticator

from broker.config import Permissions, User
from broker.destinations import TOPIC
from broker.permissions import glob_covers_topic_pattern

HASH_SCHEME = "pbkdf2_sha256"
# Each first CONNECT of a login costs one hash in the event loop (about 20 ms here);
# verified passcodes are remembered, so reconnects cost nothing.
HASH_ITERATIONS = 50_000


def hash_passcode(passcode: str, *, iterations: int = HASH_ITERATIONS) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<digest>`, the value for a user's `passcode_hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", passcode.encode(), salt, iterations)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"{HASH_SCHEME}${iterations}${encoded[0]}${encoded[1]}"


@functools.lru_cache(maxsize=4096)
def verify_passcode(passcode: str, passcode_hash: str) -> bool:
    """Whether `passcode` matches a value made by `hash_passcode`; a malformed hash never does."""
    try:
        scheme, iterations, salt, digest = passcode_hash.split("$")
        if scheme != HASH_SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", passcode.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class Authority:
    """What one connection may read and write: glob patterns over full destinations."""

    login: str
    permissions: Permissions
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def may_read(self, destination: str) -> bool:
        """A wildcard topic subscription only if one glob covers every topic it can match;
        globs are not combined, so a pattern only their union covers is refused."""
        name = destination.removeprefix(TOPIC)
        if name != destination and {"*", "#"} & set(name.split(".")):
            return any(
                glob_covers_topic_pattern(pattern, TOPIC, name) for pattern in self.permissions.read
            )
        return any(fnmatchcase(destination, pattern) for pattern in self.permissions.read)

    def may_write(self, destination: str) -> bool:
        return any(fnmatchcase(destination, pattern) for pattern in self.permissions.write)


class ConfigAuthenticator(Authenticator):
    """The users of the config file, behind coilmq's authenticator interface."""

    def __init__(self, users: tuple[User, ...]) -> None:
        self._users = {user.login: user for user in users}

    def authenticate(self, login: str, passcode: str) -> bool:
        user = self._users.get(login)
        return user is not None and verify_passcode(passcode, user.passcode_hash)

    def authority(self, login: str) -> Authority:
        """The rights of a login that `authenticate` accepted."""
        return Authority(login=login, permissions=self._users[login].permissions)
