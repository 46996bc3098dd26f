"""The game's clock in each serving process: what happens with nobody clicking.

A few times a second it closes every question whose time is up, in any game (so a question
whose opener died still closes on time, whichever process is alive), and, for the games that
had answers since the last tick, publishes one answer count and closes the question once
everyone has answered. Answers only note their game (arrivals), which keeps them constant work.
"""

import logging
from collections.abc import Callable

from django.db import connection

from quiz.background import BackgroundThread
from quiz.game import arrivals, services

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.25


class Ticker(BackgroundThread):
    """A daemon thread running `tick` every `interval` seconds once started."""

    name = "game-ticker"

    def __init__(self, interval: float = TICK_SECONDS) -> None:
        super().__init__()
        self.interval = interval

    def tick(self) -> None:
        """Close what is overdue, then report the answers that came in since the last tick."""
        answered = arrivals.answered_games.take()
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
