"""The games that had answers since the ticker last looked: the answer services note each
here and the ticker takes them all (ticker.Ticker.tick). Apart from both, so that the
services do not import the ticker that calls them."""

import threading


class AnsweredGames:
    """A set of game ids that threads add to and one thread takes whole."""

    def __init__(self) -> None:
        self._games: set[int] = set()
        self._lock = threading.Lock()

    def add(self, game_id: int) -> None:
        with self._lock:
            self._games.add(game_id)

    def take(self) -> set[int]:
        """Every game noted since the last take, and none left."""
        with self._lock:
            games, self._games = self._games, set()
        return games


answered_games = AnsweredGames()
