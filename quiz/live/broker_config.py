"""The built-in broker's config for the game, written in one place: for `make run`
(rungame), `manage.py broker_env --toml` (the bench), and the tests' brokers."""

import ipaddress
import json

from django.conf import settings

from broker.auth import hash_passcode
from quiz.live import frames

# Every screen's status topic keeps a short history, so a page back from a drop of up to two
# minutes catches up from the broker instead of reloading its snapshot (docs/game.md).
STATUS_HISTORY_MESSAGES = 50
STATUS_HISTORY_SECONDS = 120


def broker_config(
    *,
    tcp: str | None = None,
    ws: str | None = None,
    publisher: tuple[str, str] | None = None,
    admin: tuple[str, str] | None = None,
    token_secret: str | None = None,
    origins: list[str] | None = None,
) -> str:
    """The TOML the broker reads: our publisher user (who also consumes the answers), the
    token secret, the admin user a kick closes the kicked player's connections as
    (quiz.live.revocation), the status topics' history, and the queue the players' answer
    topics are bound to (quiz.live.answers), kept on disk beside the config file so that an
    answer the broker acknowledged survives a crash.

    `tcp` and `ws` are its listeners' HOST:PORT, left out when its command line gives them;
    `origins`, the site's, are the only pages that may open a WebSocket or an HTTP
    subscription with a visitor's browser (any, when not given: a test's or the bench's).
    The `publisher` and `admin` logins and passcodes and the token secret are the settings'
    (STOMP_LOGIN, STOMP_ADMIN_LOGIN, STOMP_TOKEN_SECRET and their passcodes) unless given,
    as a test's broker gives its own."""
    login, passcode = publisher or (settings.STOMP_LOGIN, settings.STOMP_PASSCODE)
    admin_login, admin_passcode = admin or (
        settings.STOMP_ADMIN_LOGIN,
        settings.STOMP_ADMIN_PASSCODE,
    )
    listeners = [f'{name} = "{address}"' for name, address in (("tcp", tcp), ("ws", ws)) if address]
    return "\n".join(
        [
            *listeners,
            *([""] if listeners else []),
            "[[users]]",
            f'login = "{login}"',
            f'passcode_hash = "{hash_passcode(passcode)}"',
            f'read = ["/topic/games.*", "/queue/{settings.STOMP_ANSWER_QUEUE}"]',
            'write = ["/topic/games.*", "/topic/replies.*"]',
            # only the site publishes: over TCP (from this machine when it listens on loopback)
            'listeners = ["tcp"]',
            f"loopback_only = {'true' if is_loopback(settings.STOMP_HOST) else 'false'}",
            "",
            # no STOMP rights at all: it only calls DELETE /api/connections/username/<login>
            "[[users]]",
            f'login = "{admin_login}"',
            f'passcode_hash = "{hash_passcode(admin_passcode)}"',
            "read = []",
            "write = []",
            "",
            "[tokens]",
            f'secret = "{token_secret or settings.STOMP_TOKEN_SECRET}"',
            f'resource_server_id = "{settings.STOMP_TOKEN_RESOURCE_SERVER_ID}"',
            "",
            "[http]",
            f'admin_users = ["{admin_login}"]',
            *([f"allowed_origins = {json.dumps(origins)}"] if origins is not None else []),
            "",
            "[[history]]",
            'pattern = "/topic/games.*.status"',
            f"max_messages = {STATUS_HISTORY_MESSAGES}",
            f"max_age_seconds = {STATUS_HISTORY_SECONDS}",
            "",
            "[[bindings]]",
            f'pattern = "{frames.ANSWER_TOPICS}"',
            f'queue = "/queue/{settings.STOMP_ANSWER_QUEUE}"',
            "",
            "[store]",
            'kind = "sqlite"',
            'directory = "broker-store"',
            "",
        ]
    )


def is_loopback(host: str) -> bool:
    """Only this computer can reach an address on the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
