"""Signed, short-lived tokens that let a browser read (or write) some destinations.

Token format, so that any app can issue one:

* A JWT (RFC 7519) signed with HS256 and the secret shared with the broker
  (`[tokens] secret` in the broker's config).
* Claims: `sub` (who holds it; shown as the connection's login), `exp` (expiry, seconds since
  the epoch; required), `iat`, `aud` (the broker's `resource_server_id`, `broker` by default)
  and `scope`: a list of strings (or one space-separated string), in the format of RabbitMQ's
  OAuth 2.0 plugin, so the same token works there:

  - `<resource_server_id>.read:<vhost>/amq.topic/<routing key>` reads `/topic/<routing key>`
  - `<resource_server_id>.write:<vhost>/amq.topic/<routing key>` sends to it
  - `<resource_server_id>.read:<vhost>/<queue>` and `.write:` the same for `/queue/<queue>`

  `*` in any part matches any run of characters, and `<vhost>` (URL-encoded: `%2F` for `/`)
  is matched against the CONNECT `host` header (`/` when absent).
  Example: `broker.read:*/amq.topic/games.42.*`.
* An optional `extra_scope` claim, a list of scopes this broker ignores: room for what another
  broker needs on top of `scope`. RabbitMQ merges it into `scope` when configured with
  `extra_scopes_source` = `extra_scope` (its STOMP plugin, for one, needs rights on the queue
  it declares behind each topic subscription).
* An optional `presence` claim, `{"announce": [...], "watch": [...]}`, each a list of globs
  over topic destinations (`/topic/games.42.status`): `announce` lets a SUBSCRIBE there with
  `presence:announce` announce the token's `sub`; `watch` lets the holder subscribe to
  `/presence/<topic name>` (who is announced there). Without the claim a token grants neither
  (a `read` scope grants no presence); RabbitMQ ignores the claim.
* The client sends the token as the CONNECT `passcode` (any `login`, e.g. `token`).

The broker checks the signature and the audience at CONNECT, and the expiry and the scope on
every SUBSCRIBE and SEND.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import unquote

import jwt

from broker.config import Permissions

ALGORITHM = "HS256"
TOPIC_EXCHANGE = "amq.topic"
EXTRA_SCOPE_CLAIM = "extra_scope"
PRESENCE_CLAIM = "presence"


class TokenError(ValueError):
    """A token the broker does not accept; the message says why."""


@dataclass(frozen=True)
class TokenGrant:
    """What a valid token grants on one virtual host."""

    subject: str
    permissions: Permissions
    expires_at: float
    issued_at: float | None = None  # its `iat`, if it has one


def looks_like_token(passcode: str | None) -> bool:
    """A JWT is three base64url parts joined by dots, its header starting `eyJ`."""
    return bool(passcode) and passcode.startswith("eyJ") and passcode.count(".") == 2


def scopes_for(
    destinations: tuple[str, ...], *, permission: str, resource_server_id: str, vhost: str = "*"
) -> list[str]:
    """Scopes granting `permission` (read or write) on destination globs (`*` = everything)."""
    scopes = []
    prefix = f"{resource_server_id}.{permission}:{vhost}/"
    for destination in destinations:
        if destination == "*":
            scopes += [f"{prefix}{TOPIC_EXCHANGE}/*", f"{prefix}*"]
        elif destination.startswith("/topic/"):
            scopes.append(f"{prefix}{TOPIC_EXCHANGE}/{destination.removeprefix('/topic/')}")
        elif destination.startswith("/queue/"):
            scopes.append(f"{prefix}{destination.removeprefix('/queue/')}")
        else:
            raise ValueError(f"cannot express {destination!r} as a scope: use /topic/ or /queue/")
    return scopes


def issue_token(
    *,
    secret: str,
    subject: str,
    read: tuple[str, ...],
    write: tuple[str, ...],
    ttl_seconds: int,
    resource_server_id: str = "broker",
    extra_scopes: tuple[str, ...] = (),
    announce: tuple[str, ...] = (),
    watch: tuple[str, ...] = (),
    now: float | None = None,
) -> str:
    """A token for `subject` that may read and write the given destination globs, carrying
    `extra_scopes` (full scope strings) in its `extra_scope` claim for other brokers, and the
    topic globs it may `announce` itself on and `watch` the presence of."""
    issued = int(now if now is not None else time.time())
    scope = scopes_for(read, permission="read", resource_server_id=resource_server_id) + scopes_for(
        write, permission="write", resource_server_id=resource_server_id
    )
    claims = {
        "sub": subject,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "aud": resource_server_id,
        "scope": scope,
    }
    if extra_scopes:
        claims[EXTRA_SCOPE_CLAIM] = list(extra_scopes)
    if announce or watch:
        claims[PRESENCE_CLAIM] = {"announce": list(announce), "watch": list(watch)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(
    token: str,
    *,
    secret: str,
    resource_server_id: str = "broker",
    vhost: str = "/",
    now: float | None = None,
) -> TokenGrant:
    """The grant of a valid token on `vhost`, or TokenError saying what is wrong with it."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=resource_server_id,
            # Expiry is checked below against the broker's clock, and again on every frame.
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise TokenError(
            "token signature is invalid: not signed with this broker's secret"
        ) from None
    except jwt.InvalidAudienceError:
        message = f"token is not meant for this broker: aud must be {resource_server_id!r}"
        raise TokenError(message) from None
    except jwt.MissingRequiredClaimError as error:
        raise TokenError(f"token lacks the {error.claim!r} claim") from None
    except jwt.InvalidTokenError as error:
        raise TokenError(f"token is malformed: {error}") from None
    expires_at = claims["exp"]
    if not isinstance(expires_at, int | float):
        raise TokenError("token is malformed: exp must be a number of seconds since the epoch")
    if expires_at <= (now if now is not None else time.time()):
        raise TokenError("token expired: ask the app for a new one")
    read: list[str] = []
    write: list[str] = []
    for item in _scope_claim(claims.get("scope", [])):
        name, _, resource = item.partition(":")
        server, _, permission = name.rpartition(".")
        if server != resource_server_id or permission not in ("read", "write"):
            continue
        scope_vhost, _, path = resource.partition("/")
        if not fnmatchcase(vhost, unquote(scope_vhost)):
            continue
        exchange, slash, routing_key = path.partition("/")
        if not slash:
            destination = f"/queue/{path}"
        elif fnmatchcase(TOPIC_EXCHANGE, exchange):
            destination = f"/topic/{routing_key}"
        else:
            continue
        (read if permission == "read" else write).append(destination)
    announce, watch = _presence_claim(claims.get(PRESENCE_CLAIM, {}))
    return TokenGrant(
        subject=str(claims["sub"]),
        permissions=Permissions(
            read=tuple(read), write=tuple(write), announce=announce, watch=watch
        ),
        expires_at=float(expires_at),
        issued_at=float(issued) if isinstance(issued := claims.get("iat"), int | float) else None,
    )


def _scope_claim(claim: object) -> list[str]:
    """The scopes of a `scope` claim: a list of strings, or one space-separated string. Any
    other JSON (a number, an object, a list holding one) is refused, as a malformed presence
    claim is, rather than read as something it does not say."""
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list) and all(isinstance(item, str) for item in claim):
        return claim
    raise TokenError(
        "token is malformed: the scope claim must be a list of strings or one "
        f"space-separated string, not {type(claim).__name__} {str(claim)[:40]!r}"
    )


def _presence_claim(claim: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `announce` and `watch` topic globs of a `presence` claim; malformed is refused, so a
    typo shows at CONNECT rather than as presence that silently never works."""
    lists = (claim.get("announce", []), claim.get("watch", [])) if isinstance(claim, dict) else ()
    if len(lists) != 2 or not all(
        isinstance(globs, list) and all(isinstance(glob, str) for glob in globs) for globs in lists
    ):
        raise TokenError(
            'token is malformed: the presence claim must be {"announce": [topic globs], '
            '"watch": [topic globs]}'
        )
    return tuple(lists[0]), tuple(lists[1])
