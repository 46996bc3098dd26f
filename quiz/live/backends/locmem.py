"""A backend that keeps what the game sends in lists, as Django's locmem email backend keeps
mail in `outbox`: tests read the frames a game published without a broker."""

from typing import Any

from quiz.live.backends.base import BaseBackend


class MemoryBackend(BaseBackend):
    """Always up; `sent` holds each frame as `(destination, body)` and `cut_offs` each cut
    off login as `{"login", "queue_prefix", "reason"}`, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.cut_offs: list[dict[str, str]] = []

    def publish(self, destination: str, body: dict[str, Any]) -> None:
        self.sent.append((destination, body))

    def status(self) -> str:
        return "up"

    def cut_off(self, *, login: str, queue_prefix: str, reason: str) -> None:
        self.cut_offs.append({"login": login, "queue_prefix": queue_prefix, "reason": reason})

    def close(self) -> None:
        """Nothing to let go of: what was sent stays in the lists."""
