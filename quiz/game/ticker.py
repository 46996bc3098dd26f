"""The game's clock in each serving process: what happens with nobody clicking.

A few times a second it closes every question whose time is up, in any game (so a question
whose opener died still closes on time, whichever process is alive), and, for the games that
had answers since the last tick, publishes one answer count and closes the question once
everyone has answered. Answers only note their game here, which keeps them constant work.
"""

import logging
import threading
from collections.abc import Callable

from django.db import connection

from quiz.background import BackgroundThread
from quiz.game import services

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.25


class Ticker(BackgroundThread):
    """A daemon thread running `tick` every `interval` seconds once started."""

    name = "game-ticker"

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        super().__init__()
        self.interval = interval
        self._games_answered: set[int] = set()
        self._lock = threading.Lock()

    def answers_arrived(self, game_id: int) -> None:
        with self._lock:
            self._games_answered.add(game_id)

    def tick(self) -> None:
        """Close what is overdue, then report the answers that came in since the last tick."""
        with self._lock:
            answered, self._games_answered = self._games_answered, set()
        self._run(connection.close_if_unusable_or_obsolete)  # e.g. after a database restart
        self._run(services.close_overdue_questions)
        for game_id in sorted(answered):
            self._run(lambda: services.report_answers(game_id=game_id))  # noqa: B023

    def _run(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # one game's failure must not stop the clock of every game
            logger.exception("The game ticker's work failed")

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.tick()


ticker = Ticker()
