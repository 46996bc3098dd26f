"""The default backend: one persistent STOMP connection per process to the broker the
STOMP_* settings name, and its management API for cutting a player off
(quiz.live.revocation); a broker outage never fails a game action."""

import json
import logging
import threading
from typing import Any

import stomp
from django.conf import settings

from quiz.live import revocation
from quiz.live.backends.base import BaseBackend

logger = logging.getLogger(__name__)


class StompBackend(BaseBackend):
    """This process's connection to the broker the settings name, opened on first use and
    again after any failure; threads share it under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: stomp.Connection | None = None

    def publish(self, destination: str, body: dict[str, Any]) -> None:
        """Send one JSON frame; on any broker failure log a warning and drop the frame."""
        text = json.dumps(body, separators=(",", ":"))
        with self._lock:
            try:
                self._connected().send(destination, text, content_type="application/json")
            except Exception as exc:  # any broker failure must not break the game
                logger.warning("Dropped frame %s to %s: %s", body.get("type"), destination, exc)
                self._close()

    def status(self) -> str:
        """ "up" if this process can publish now (its connection is open, or opens at once),
        else "down": for the host's screen, which asks on its actions, never on the answer
        path."""
        with self._lock:
            try:
                self._connected()
            except Exception:  # whatever the failure, frames cannot go out
                self._close()
                return "down"
        return "up"

    def cut_off(self, *, login: str, queue_prefix: str, reason: str) -> None:
        """Through the management API, now and once the player's tokens have expired."""
        revocation.cut_off(login=login, queue_prefix=queue_prefix, reason=reason)

    def close(self) -> None:
        """Disconnect; the next frame connects again, to the broker the settings name then."""
        with self._lock:
            self._close()

    def _connected(self) -> stomp.Connection:
        if self._connection is None or not self._connection.is_connected():
            self._connection = stomp.Connection(
                [(settings.STOMP_HOST, settings.STOMP_PORT)], reconnect_attempts_max=1, timeout=2
            )
            self._connection.connect(settings.STOMP_LOGIN, settings.STOMP_PASSCODE, wait=True)
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.disconnect()
            except Exception:  # a connection that broke may fail to close: it goes either way
                pass
        self._connection = None
