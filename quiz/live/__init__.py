"""Everything of the site that speaks to the broker; nothing else in quiz/ does.

- `frames`: the frame contract, every frame the game publishes and its topic;
- `pages`: what a page needs to follow its game (the broker's URLs, topics, presence, token);
- `tokens`: what a browser's token lets it do on the broker;
- `revocation`: cutting a kicked player off, through the broker's management API;
- `broker_config`: the built-in broker's config for the game; `broker_process`: that broker
  beside the site (`make run` starts and watches it);
- here: the game's side effects on the broker, through the backend that QUIZ_LIVE_BACKEND
  names, as Django sends mail through EMAIL_BACKEND (`backends.stomp` by default,
  `backends.locmem` in tests).
"""

import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from quiz.live.backends.base import BaseBackend
from quiz.live.frames import Frame

_backend: BaseBackend | None = None
_backend_lock = threading.Lock()


def get_backend() -> BaseBackend:
    """This process's QUIZ_LIVE_BACKEND, made on first use and shared by its threads (the
    STOMP backend's connection with them)."""
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = import_string(settings.QUIZ_LIVE_BACKEND)()
        return _backend


def publish_frame(frame: Frame) -> None:
    """Publish a frame of the contract (quiz.live.frames) on its topic."""
    get_backend().publish(frame.destination, frame.body())


def broker_status() -> str:
    """ "up" if frames can go out now, else "down"."""
    return get_backend().status()


def cut_off(*, login: str, queue_prefix: str, reason: str) -> None:
    """Close a kicked player's connections (`login`) and subscription queues
    (`queue_prefix`, quiz.live.tokens) on the broker."""
    get_backend().cut_off(login=login, queue_prefix=queue_prefix, reason=reason)


# The settings the backend is made from: its class, and where and as whom it connects.
_BACKEND_SETTINGS = {
    "QUIZ_LIVE_BACKEND",
    "STOMP_HOST",
    "STOMP_PORT",
    "STOMP_LOGIN",
    "STOMP_PASSCODE",
}


def _forget_backend(*, setting: str, **kwargs: Any) -> None:
    """A test that chooses another backend or broker (override_settings, pytest-django's
    `settings`) gets a new one: the in-memory backend with nothing sent yet, or a connection
    to that broker rather than one left over from another test's."""
    global _backend
    if setting in _BACKEND_SETTINGS:
        with _backend_lock:
            if _backend is not None:
                _backend.close()
            _backend = None


setting_changed.connect(_forget_backend)
