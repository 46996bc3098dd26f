"""How the answer consumer gathers a batch (quiz.live.answers.take_batch): a transaction per
answer would cost most of an answer's CPU when answers trickle in."""

import queue
from datetime import UTC, datetime

from quiz.live.answers import BATCH_MAX, Received, take_batch


def arrived(number: int) -> Received:
    return Received({"message-id": str(number)}, "{}", datetime(2026, 1, 1, tzinfo=UTC))


class Trickle(queue.Queue):
    """An inbox whose answers come one per wait: each `get` that waits gets the next one,
    as though it arrived while the consumer waited; one that does not wait finds none."""

    def __init__(self, answers: list[Received]) -> None:
        super().__init__()
        self.coming = list(answers)
        self.waits: list[float | None] = []

    def get(self, block: bool = True, timeout: float | None = None) -> Received:
        waits = block and (timeout is None or timeout > 0)
        self.waits.append(timeout if waits else 0)
        if not waits or not self.coming:
            raise queue.Empty
        return self.coming.pop(0)


def test_a_batch_waits_for_answers_that_come_just_after_the_first() -> None:
    inbox = Trickle([arrived(n) for n in range(3)])
    batch = take_batch(inbox)
    assert [message.headers["message-id"] for message in batch] == ["0", "1", "2"]


def test_a_batch_is_what_has_come_when_there_is_no_more() -> None:
    inbox: queue.Queue[Received] = queue.Queue()
    inbox.put(arrived(1))
    assert len(take_batch(inbox)) == 1


def test_a_batch_never_holds_more_than_the_most_one_transaction_records() -> None:
    inbox: queue.Queue[Received] = queue.Queue()
    for number in range(BATCH_MAX + 10):
        inbox.put(arrived(number))
    assert len(take_batch(inbox)) == BATCH_MAX
    assert inbox.qsize() == 10


def test_no_answer_no_batch() -> None:
    assert take_batch(Trickle([])) == []
