"""What a backend does: everything the game asks of the broker (quiz.live calls it)."""

from abc import ABC, abstractmethod
from typing import Any


class BaseBackend(ABC):
    """One per process, shared by its threads (quiz.live.get_backend); none of its methods
    raises, so a broker outage never fails a game action."""

    @abstractmethod
    def publish(self, destination: str, body: dict[str, Any]) -> None:
        """Send one JSON frame to `destination`."""

    @abstractmethod
    def status(self) -> str:
        """ "up" if frames can go out now, else "down": for the host's screen."""

    @abstractmethod
    def cut_off(self, *, login: str, queue_prefix: str, reason: str) -> None:
        """Close `login`'s connections and its subscription queues (a kicked player's)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of any connection; the next call opens one again."""
