"""Cut a kicked player off the broker at once: their page, or a hostile client holding their
token, stops receiving the game within a second instead of when its token expires (never, on
RabbitMQ 3.10's Web-STOMP, which keeps a connection past its token's expiry).

Through the management API both brokers answer, as STOMP_ADMIN_LOGIN at STOMP_ADMIN_URL:

* `DELETE /api/connections/username/<login>` closes every connection of the player's user
  (our broker on its WebSocket port, for `[http] admin_users`, names a token's connection
  after the token's subject; RabbitMQ after the CONNECT login, which the page sends).
* On RabbitMQ a client may CONNECT under a made-up login, but its token only lets it
  subscribe through queues named for the player (tokens.queue_prefix): those queues are
  found and deleted, which cancels the subscriptions. Our broker has no such queues (404).
* A client may reconnect, or subscribe again, with its token until it expires: the same again
  once every token the player was given has expired catches that, and nothing can come back.
"""

import base64
import json
import logging
import threading
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from django.conf import settings

logger = logging.getLogger(__name__)

# The host's kick waits for these calls: a broker that does not answer must not hold it long.
TIMEOUT_SECONDS = 2.0
# The second pass comes this long after the player's last token expired (clocks may differ).
AFTER_EXPIRY_SECONDS = 5.0
VHOST = quote("/", safe="")


def cut_off(*, login: str, queue_prefix: str, reason: str) -> None:
    """Close `login`'s connections and delete its subscription queues now, and again once the
    tokens it may still hold have expired; failures are logged, never raised."""
    close_now(login=login, queue_prefix=queue_prefix, reason=reason)
    again = threading.Timer(
        settings.STOMP_TOKEN_TTL_SECONDS + AFTER_EXPIRY_SECONDS,
        close_now,
        kwargs={"login": login, "queue_prefix": queue_prefix, "reason": reason},
    )
    again.daemon = True  # a process that exits does not wait for it
    again.start()


def close_now(*, login: str, queue_prefix: str, reason: str) -> None:
    """One pass; on any failure log a warning and carry on (the kick stands, and the page gets
    no new token)."""
    try:
        _delete(f"/api/connections/username/{quote(login, safe='')}", reason=reason)
        for name in _queue_names(queue_prefix):
            _delete(f"/api/queues/{VHOST}/{quote(name, safe='')}", reason=reason)
    except Exception as error:  # noqa: BLE001 - whatever the broker answers, the kick stands
        logger.warning("Could not cut %s off the broker at %s: %s", login, _url(""), error)


def _delete(path: str, *, reason: str) -> None:
    """DELETE what `path` names; already gone (404) is done, not a failure. RabbitMQ lists
    queues from statistics that lag: closing the page's connection deletes its queues, which
    may still be listed a moment later."""
    try:
        _call("DELETE", path, reason=reason)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise


def _queue_names(prefix: str) -> list[str]:
    """RabbitMQ's queues whose names start with `prefix`; none on a broker without queue
    listing (ours answers 404)."""
    query = urlencode({"page": 1, "page_size": 500, "use_regex": "true", "name": f"^{prefix}"})
    try:
        body = _call("GET", f"/api/queues/{VHOST}?{query}&columns=name")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise
    return [item["name"] for item in json.loads(body)["items"]]


def _url(path: str) -> str:
    return f"{settings.STOMP_ADMIN_URL.rstrip('/')}{path}"


def _call(method: str, path: str, *, reason: str = "") -> bytes:
    credentials = f"{settings.STOMP_ADMIN_LOGIN}:{settings.STOMP_ADMIN_PASSCODE}".encode()
    headers = {"Authorization": f"Basic {base64.b64encode(credentials).decode()}"}
    if reason:
        headers["X-Reason"] = reason
    request = urllib.request.Request(_url(path), method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.read()
