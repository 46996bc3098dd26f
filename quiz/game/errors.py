"""The one error a game rule refuses with, apart from the rules so that a question kind
(quiz/game/kinds/) can refuse an answer the way every service does."""


class GameError(Exception):
    """A refused action: a machine code, a human reason and the HTTP status for it."""

    def __init__(self, code: str, detail: str, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
