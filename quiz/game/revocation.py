"""Close a user's open broker connections at once: a kicked player's page, or a hostile client
holding its token, stops receiving the game within a second instead of when its token expires
(never, on RabbitMQ 3.10's Web-STOMP).

Both brokers answer the same call, RabbitMQ's management API `DELETE
/api/connections/username/<login>` (our broker on its WebSocket port, for `[http]
admin_users`), as STOMP_ADMIN_LOGIN at STOMP_ADMIN_URL."""

import base64
import logging
import urllib.request
from urllib.parse import quote

from django.conf import settings

logger = logging.getLogger(__name__)

# The host's kick waits for this call: a broker that does not answer must not hold it long.
TIMEOUT_SECONDS = 2.0


def close_connections(*, login: str, reason: str) -> None:
    """Ask the broker to close every connection of `login`, telling each `reason`; on any
    failure log a warning and carry on (the kick stands, and the page gets no new token)."""
    url = f"{settings.STOMP_ADMIN_URL.rstrip('/')}/api/connections/username/{quote(login, safe='')}"
    credentials = f"{settings.STOMP_ADMIN_LOGIN}:{settings.STOMP_ADMIN_PASSCODE}".encode()
    request = urllib.request.Request(
        url,
        method="DELETE",
        headers={
            "Authorization": f"Basic {base64.b64encode(credentials).decode()}",
            "X-Reason": reason,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
            pass
    except (OSError, ValueError) as error:  # URLError, HTTPError and timeouts are OSErrors
        logger.warning("Could not close %s's broker connections at %s: %s", login, url, error)
