"""One persistent STOMP connection per process; a broker outage never fails a game action."""

import json
import logging
import threading
from typing import Any

import stomp
from django.conf import settings

from quiz.game.frames import Frame

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_connection: stomp.Connection | None = None


def _connect() -> stomp.Connection:
    conn = stomp.Connection(
        [(settings.STOMP_HOST, settings.STOMP_PORT)], reconnect_attempts_max=1, timeout=2
    )
    conn.connect(settings.STOMP_LOGIN, settings.STOMP_PASSCODE, wait=True)
    return conn


def publish(destination: str, frame: dict[str, Any]) -> None:
    """Send one JSON frame; on any broker failure log a warning and drop the frame."""
    global _connection
    body = json.dumps(frame, separators=(",", ":"))
    with _lock:
        try:
            if _connection is None or not _connection.is_connected():
                _connection = _connect()
            _connection.send(destination, body, content_type="application/json")
        except Exception as exc:  # any broker failure must not break the game
            logger.warning("Dropped frame %s to %s: %s", frame.get("type"), destination, exc)
            _drop_connection()


def broker_status() -> str:
    """ "up" if this process can publish now (its connection is open, or opens at once),
    else "down": for the host's screen, which asks on its actions, never on the answer path."""
    global _connection
    with _lock:
        try:
            if _connection is None or not _connection.is_connected():
                _connection = _connect()
        except Exception:  # whatever the failure, frames cannot go out
            _drop_connection()
            return "down"
    return "up"


def _drop_connection() -> None:
    global _connection
    if _connection is not None:
        try:
            _connection.disconnect()
        except Exception:  # a connection that broke may fail to close: it goes either way
            pass
    _connection = None


def publish_frame(frame: Frame) -> None:
    """Publish a frame of the contract (quiz.game.frames) on its topic."""
    publish(frame.destination, frame.body())
