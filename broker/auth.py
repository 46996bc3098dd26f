"""Who a connection is and what it may do: hashed passcodes, and the rights a login carries.

`Authentication` is the one place that decides on a CONNECT's credentials (a token, a
configured login, or none: anonymous access); `ConfigAuthenticator` plugs the configured
users into coilmq's `Authenticator` seam beneath it; `Authority` is what a session keeps after
CONNECT and asks on every SUBSCRIBE and SEND.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from coilmq.auth import Authenticator

from broker.config import BrokerConfig, Permissions, User
from broker.destinations import TOPIC
from broker.permissions import globs_cover_topic_pattern
from broker.tokens import TokenError, looks_like_token, verify_token

HASH_SCHEME = "pbkdf2_sha256"
# Each first CONNECT of a login costs one hash (about 20 ms here), in the server's thread pool
# rather than on the event loop; right passcodes are remembered (see Authentication), so
# reconnects cost nothing and wait for no other login's check.
HASH_ITERATIONS = 50_000
# Right passcodes remembered, the least recently used forgotten first. Wrong ones are not
# remembered: a flood of guesses cannot push the right ones out.
REMEMBERED_LOGINS = 4096


def hash_passcode(passcode: str, *, iterations: int = HASH_ITERATIONS) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<digest>`, the value for a user's `passcode_hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", passcode.encode(), salt, iterations)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"{HASH_SCHEME}${iterations}${encoded[0]}${encoded[1]}"


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
            return globs_cover_topic_pattern(self.permissions.read, TOPIC, name)
        return any(fnmatchcase(destination, pattern) for pattern in self.permissions.read)

    def may_write(self, destination: str) -> bool:
        return any(fnmatchcase(destination, pattern) for pattern in self.permissions.write)

    def may_announce(self, topic: str) -> bool:
        """Whether a subscription to `topic` may announce this login there (presence)."""
        return any(fnmatchcase(topic, pattern) for pattern in self.permissions.announce)

    def may_watch(self, topic: str) -> bool:
        """Whether this login may see who is announced on `topic`; `read` does not grant it."""
        return any(fnmatchcase(topic, pattern) for pattern in self.permissions.watch)


@dataclass(frozen=True)
class PasscodeCheck:
    """One PBKDF2 verification, handed to the broker's verifier so that the server can run
    it off the event loop.

    An unknown login is checked against a made-up hash of the same cost, so the answer takes
    as long as for a known login with a wrong passcode and tells nothing about which exist.
    """

    login: str
    passcode: str
    passcode_hash: str
    known: bool

    def run(self) -> bool:
        """Whether the passcode is right: the slow part, safe to run in another thread."""
        return verify_passcode(self.passcode, self.passcode_hash) and self.known


def _dummy_hash(users: tuple[User, ...]) -> str:
    """A hash no passcode matches, costing what most users' hashes cost to check."""
    costs = Counter(
        parts[1]
        for parts in (user.passcode_hash.split("$") for user in users)
        if len(parts) == 4 and parts[1].isascii() and parts[1].isdigit()
    )
    iterations = costs.most_common(1)[0][0] if costs else str(HASH_ITERATIONS)
    salt, digest = (base64.b64encode(secrets.token_bytes(n)).decode() for n in (16, 32))
    return f"{HASH_SCHEME}${iterations}${salt}${digest}"


class ConfigAuthenticator(Authenticator):
    """The users of the config file, behind coilmq's authenticator interface."""

    def __init__(self, users: tuple[User, ...]) -> None:
        self._users = {user.login: user for user in users}
        # One Authority per login, shared by its connections (each would otherwise keep one).
        self._authorities = {user.login: Authority(user.login, user.permissions) for user in users}
        self._dummy_hash = _dummy_hash(users)

    def authenticate(self, login: str, passcode: str) -> bool:
        """coilmq's interface, hashing in the caller's thread; the broker uses `check`."""
        return self.check(login, passcode).run()

    def check(self, login: str, passcode: str) -> PasscodeCheck:
        """The verification a CONNECT as `login` needs, known login or not."""
        user = self._users.get(login)
        if user is None:
            return PasscodeCheck(login, passcode, self._dummy_hash, known=False)
        return PasscodeCheck(login, passcode, user.passcode_hash, known=True)

    def authority(self, login: str, *, transport: str, peer_host: str) -> Authority:
        """The rights of a login that `authenticate` accepted, if it may connect this way
        (its `listeners` and `loopback_only`, as RabbitMQ's `loopback_users`)."""
        user = self._users[login]
        if user.listeners is not None and transport not in user.listeners:
            raise AccessRefused(
                f"login {login!r} may not connect over {transport} "
                f"(its listeners are {', '.join(user.listeners) or 'none'})"
            )
        if user.loopback_only and not is_loopback(peer_host):
            raise AccessRefused(
                f"login {login!r} may only connect from a loopback address (loopback_only), "
                f"not from {peer_host}"
            )
        return self._authorities[login]


class AccessRefused(Exception):
    """Credentials the broker refuses: the message goes into the ERROR frame."""


class LoginsBusy(Exception):
    """Too many passcode checks wait already (limits.max_pending_logins, and per address):
    not a refusal of who the client is, so it may try again later."""


# Runs a passcode check and calls back with its result, on the broker's thread; returns what
# cancels the check (the client left), after which `done` is never called.
Verifier = Callable[[PasscodeCheck, Callable[[bool], object]], Callable[[], object]]


def verify_now(check: PasscodeCheck, done: Callable[[bool], object]) -> Callable[[], object]:
    """The verifier without I/O, for tests and tools: the check runs in the caller's thread,
    so there is nothing left to cancel."""
    done(check.run())
    return lambda: None


class PendingCheck:
    """A passcode check handed to the verifier and not yet answered: it holds its place in
    the limits until it is answered or cancelled, whichever comes first."""

    __slots__ = ("_cancel", "_done", "_host", "_owner", "check")

    def __init__(
        self,
        owner: Authentication,
        check: PasscodeCheck,
        host: str,
        done: Callable[[bool], object],
    ) -> None:
        self._owner = owner
        self.check = check
        self._host = host
        self._done: Callable[[bool], object] | None = done
        self._cancel: Callable[[], object] | None = None

    def start(self, verifier: Verifier) -> None:
        cancel = verifier(self.check, self._answered)
        if self._done is not None:  # not answered at once (as verify_now does)
            self._cancel = cancel

    def _answered(self, verified: bool) -> None:
        done = self._settle()
        if done is not None:
            if verified:
                self._owner._remember(self.check)
            done(verified)

    def cancel(self) -> None:
        """The client left: the check is not run if it has not started, and not answered."""
        cancel = self._cancel
        if self._settle() is not None and cancel is not None:
            cancel()

    def _settle(self) -> Callable[[bool], object] | None:
        """Leave the limits, once; the `done` still to call, if it was not settled yet."""
        done, self._done, self._cancel = self._done, None, None
        if done is not None:
            self._owner._leave(self._host)
        return done


# How long a revocation refuses the tokens its subject was given before it: far longer than
# the tokens the game gives live (a minute). At most this many subjects are remembered.
REVOCATION_SECONDS = 3600.0
MAX_REVOCATIONS = 10_000


class Authentication:
    """Every decision on who a CONNECT is: a token, a configured login, or anonymous; the
    passcode checks run on the verifier the server gives (off its event loop)."""

    def __init__(
        self,
        config: BrokerConfig,
        *,
        wall_clock: Callable[[], float],
        verifier: Verifier | None = None,
    ) -> None:
        self._tokens = config.tokens
        self._anonymous = (
            Authority("anonymous", config.anonymous_permissions) if config.allow_anonymous else None
        )
        self._users = ConfigAuthenticator(config.users)
        self._wall_clock = wall_clock
        self._verifier = verifier or verify_now
        self._revoked: OrderedDict[str, float] = OrderedDict()  # token subject → when
        self._limits = config.limits
        # (passcode hash, passcode) of the checks that found the passcode right.
        self._remembered: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.pending_checks = 0
        self._pending_by_host: Counter[str] = Counter()

    def revoke(self, subject: str) -> None:
        """Refuse the tokens `subject` was given up to now (to the second of their `iat`, by
        an issuer whose clock is at most tokens.clock_skew_seconds ahead) for
        REVOCATION_SECONDS: a client that an administrator cut off cannot come back with the
        token it holds, over STOMP or over HTTP."""
        self._revoked.pop(subject, None)
        self._revoked[subject] = self._wall_clock()
        while len(self._revoked) > MAX_REVOCATIONS:
            self._revoked.popitem(last=False)

    def credentials(
        self, *, login: str | None, passcode: str | None, vhost: str
    ) -> Authority | PasscodeCheck:
        """The rights of a token or of anonymous access, or for a login the passcode check
        to run (off the event loop) before `user_authority`."""
        if passcode and looks_like_token(passcode):
            return self._token_authority(passcode, vhost)
        if not login and not passcode:
            if self._anonymous is None:
                raise AccessRefused(
                    "login required: send login and passcode headers (anonymous access is off)"
                )
            return self._anonymous
        return self._users.check(login or "", passcode or "")

    def _token_authority(self, token: str, vhost: str) -> Authority:
        if self._tokens.secret is None:
            raise AccessRefused(
                "token refused: this broker has no [tokens] secret, so it takes no tokens"
            )
        try:
            grant = verify_token(
                token,
                secret=self._tokens.secret,
                resource_server_id=self._tokens.resource_server_id,
                vhost=vhost,
                now=self._wall_clock(),
            )
        except TokenError as error:
            raise AccessRefused(str(error)) from None
        if self._revoked_before(grant.subject, grant.issued_at):
            raise AccessRefused(
                f"token revoked: an administrator cut {grant.subject!r} off after this token "
                "was issued; ask the app for a new one"
            )
        return Authority(grant.subject, grant.permissions, expires_at=grant.expires_at)

    def _revoked_before(self, subject: str, issued_at: float | None) -> bool:
        """Whether `subject` was revoked after a token issued at `issued_at` (a token without
        `iat` could be from any time: it counts as revoked)."""
        revoked_at = self._revoked.get(subject)
        if revoked_at is None:
            return False
        if self._wall_clock() - revoked_at > REVOCATION_SECONDS:
            del self._revoked[subject]
            return False
        return issued_at is None or issued_at <= revoked_at + self._tokens.clock_skew_seconds

    def remembers(self, check: PasscodeCheck) -> bool:
        """Whether this login's passcode was checked right before: its CONNECT (or HTTP basic
        login) needs no hash, so it does not wait behind the checks of others."""
        key = (check.passcode_hash, check.passcode)
        if check.known and key in self._remembered:
            self._remembered.move_to_end(key)
            return True
        return False

    def _remember(self, check: PasscodeCheck) -> None:
        self._remembered[check.passcode_hash, check.passcode] = None
        if len(self._remembered) > REMEMBERED_LOGINS:
            self._remembered.popitem(last=False)

    def verify(
        self, check: PasscodeCheck, done: Callable[[bool], object], *, host: str
    ) -> PendingCheck:
        """Run a passcode check for a client at `host`, then `done(verified)` on the broker's
        thread, unless the returned check is cancelled first (its client left). LoginsBusy
        past limits.max_pending_logins, or limits.max_pending_logins_per_host from `host`:
        a flood of logins is refused at once instead of making every login wait."""
        limits = self._limits
        if self.pending_checks >= limits.max_pending_logins:
            raise LoginsBusy(
                f"too many logins are being checked (limits.max_pending_logins="
                f"{limits.max_pending_logins}); try again later"
            )
        if self._pending_by_host[host] >= limits.max_pending_logins_per_host:
            raise LoginsBusy(
                f"too many logins from {host} are being checked (limits."
                f"max_pending_logins_per_host={limits.max_pending_logins_per_host}); "
                "try again later"
            )
        self.pending_checks += 1
        self._pending_by_host[host] += 1
        pending = PendingCheck(self, check, host, done)
        pending.start(self._verifier)
        return pending

    def _leave(self, host: str) -> None:
        self.pending_checks -= 1
        self._pending_by_host[host] -= 1
        if not self._pending_by_host[host]:
            del self._pending_by_host[host]

    def check_login(self, login: str, passcode: str) -> PasscodeCheck:
        """The passcode check of a configured login, for callers other than CONNECT."""
        return self._users.check(login, passcode)

    def user_authority(
        self, check: PasscodeCheck, verified: bool, *, transport: str, peer: str
    ) -> Authority:
        """The rights of a checked login, if the passcode was right and the login may connect
        over this listener (`tcp`, `ws`) and from this `host:port`."""
        if not verified:
            raise AccessRefused("login failed: unknown login or wrong passcode")
        return self._users.authority(
            check.login, transport=transport, peer_host=peer.rpartition(":")[0]
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, or either as an IPv4-mapped IPv6 address."""
    try:
        address = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
