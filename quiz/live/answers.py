"""Answers that pages send over the broker, recorded in batches by every site process.

A player's page SENDs its answer, with a receipt, to a topic of its own,
`/topic/answers.<game>.<player>` (frames.answer_topic), the one destination its token may
write to: so nobody answers for anyone else. The broker puts a copy in one queue (the
built-in broker's `[[bindings]]`, RabbitMQ's durable queue bound to amq.topic), stored
before the page's RECEIPT. Each site process consumes that queue, taking turns with the
others: it records what has come in one transaction (services.record_answers, the same rules
as a POSTed answer), then acknowledges it, so an answer is recorded at least once and the
database keeps it once. The time an answer is judged by is when it reached the broker
(`timestamp_in_ms`, which only the broker sets) where the broker stamps it
(STOMP_ARRIVAL_STAMP), else when this process received it; never when a busy process got
round to it.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import stomp
from django.conf import settings
from django.db import connection

from quiz import live
from quiz.background import BackgroundThread
from quiz.game import services
from quiz.game.models import Game
from quiz.game.services import GameError
from quiz.live import frames

logger = logging.getLogger(__name__)

ANSWER_TOPIC = re.compile(r"/topic/answers\.(\d+)\.(\d+)")
ARRIVAL_HEADER = "timestamp_in_ms"
BATCH_MAX = 500  # answers recorded in one transaction at most
# After the first answer, how long a batch gathers more: a transaction's fixed cost is most of
# an answer's when answers trickle in one at a time. The page's RECEIPT does not wait for it.
BATCH_WINDOW_SECONDS = 0.05
PREFETCH = 1000  # answers the broker may hand this process before it acknowledges any
RETRY_SECONDS = 1.0
SUBSCRIPTION_ID = "answers"


def subscription() -> tuple[str, dict[str, str]]:
    """What a consumer subscribes to: our broker's queue, bound to the answer topics by its
    config (STOMP_ANSWER_BINDING); on RabbitMQ, the answer topics through a durable queue of
    that name, which the first SUBSCRIBE declares and every consumer then shares."""
    queue_name = settings.STOMP_ANSWER_QUEUE
    if settings.STOMP_ANSWER_BINDING:
        return f"/queue/{queue_name}", {}
    return frames.ANSWER_TOPICS, {
        "x-queue-name": queue_name,
        "durable": "true",
        "auto-delete": "false",
    }


@dataclass(frozen=True)
class Received:
    """One MESSAGE of the answers queue, as the listener got it."""

    headers: dict[str, str]
    body: str
    received: datetime


class AnswerConsumer(BackgroundThread):
    """A daemon thread that consumes the answers queue while the process serves."""

    name = "answer-consumer"

    def __init__(self) -> None:
        super().__init__()
        self.refused: Counter[str] = Counter()  # answers not recorded, by reason
        self.recorded = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._consume()
            except Exception:  # the broker or the database went away: try again soon
                logger.exception("The answer consumer failed; connecting again")
                self.stopped.wait(RETRY_SECONDS)

    def _consume(self) -> None:
        """Subscribe, then record what comes until the connection drops or the thread stops."""
        # STOMP 1.1: stomp.py's 1.2 CONNECT names the host it dials as the virtual host,
        # which RabbitMQ refuses
        link = stomp.Connection11(
            [(settings.STOMP_HOST, settings.STOMP_PORT)], heartbeats=(10_000, 10_000)
        )
        inbox: queue.Queue[Received] = queue.Queue()
        link.set_listener("answers", _Listener(inbox))
        link.connect(settings.STOMP_LOGIN, settings.STOMP_PASSCODE, wait=True)
        try:
            destination, headers = subscription()
            # `client` acknowledgement is cumulative: one ACK settles a whole batch
            link.subscribe(
                destination,
                id=SUBSCRIPTION_ID,
                ack="client",
                headers={**headers, "prefetch-count": str(PREFETCH)},
            )
            while not self.stopped.is_set() and link.is_connected():
                batch = take_batch(inbox)
                if batch:
                    self._record(batch)
                    link.ack(batch[-1].headers["message-id"], SUBSCRIPTION_ID)
        finally:
            if link.is_connected():  # what it did not acknowledge comes again, to a consumer
                link.disconnect()

    def _record(self, batch: list[Received]) -> None:
        """Record a batch; tell each page whose answer was refused why, as a POST is told."""
        connection.close_if_unusable_or_obsolete()
        answers = []
        refusals: list[tuple[int, int, int | None, GameError]] = []
        for message in batch:
            try:
                answers.append(read_answer(message))
            except GameError as refusal:
                logger.warning("Answer to %s dropped: %s", message.headers.get("destination"),
                               refusal.detail)  # fmt: skip
                if found := ANSWER_TOPIC.fullmatch(message.headers.get("destination", "")):
                    refusals.append((int(found.group(1)), int(found.group(2)), None, refusal))
                self.refused[refusal.code] += 1
        outcomes = services.record_answers(answers=answers)
        for answer, outcome in zip(answers, outcomes, strict=True):
            if isinstance(outcome, GameError):
                logger.info("Answer of player %s refused: %s", answer.player_id, outcome.code)
                refusals.append((answer.game_id, answer.player_id, answer.question_id, outcome))
                self.refused[outcome.code] += 1
            else:
                self.recorded += 1
        if refusals:
            _reply(refusals)


def _reply(refusals: list[tuple[int, int, int | None, GameError]]) -> None:
    """An `answer_refused` frame to each refused page, at its game's version now."""
    game_ids = {game_id for game_id, _, _, _ in refusals}
    versions = dict(Game.objects.filter(pk__in=game_ids).values_list("pk", "version"))
    for game_id, player_id, question_id, refusal in refusals:
        if game_id in versions:
            live.publish_frame(
                frames.answer_refused(
                    game_id=game_id,
                    player_id=player_id,
                    version=versions[game_id],
                    question_id=question_id,
                    error=refusal.code,
                    detail=refusal.detail,
                )
            )


def take_batch(inbox: queue.Queue[Received]) -> list[Received]:
    """What comes within BATCH_WINDOW_SECONDS of the first answer, up to BATCH_MAX; waits a
    little for the first."""
    try:
        batch = [inbox.get(timeout=0.5)]
    except queue.Empty:
        return []
    until = time.monotonic() + BATCH_WINDOW_SECONDS
    while len(batch) < BATCH_MAX:
        left = until - time.monotonic()
        try:
            batch.append(inbox.get(timeout=left) if left > 0 else inbox.get_nowait())
        except queue.Empty:
            break
    return batch


def read_answer(message: Received) -> services.ArrivedAnswer:
    """The answer a MESSAGE of the answers queue carries; GameError if it carries none."""
    found = ANSWER_TOPIC.fullmatch(message.headers.get("destination", ""))
    if found is None:
        raise GameError("invalid_input", "Not an answer topic.", 400)
    try:
        data = json.loads(message.body)
    except ValueError:
        raise GameError("invalid_json", "The answer is not JSON.", 400) from None
    return services.answer_from_json(
        data=data,
        game_id=int(found.group(1)),
        player_id=int(found.group(2)),
        arrived=_arrival(message),
    )


def _arrival(message: Received) -> datetime:
    stamp = message.headers.get(ARRIVAL_HEADER, "") if settings.STOMP_ARRIVAL_STAMP else ""
    if stamp.isdigit():
        return datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)
    return message.received


class _Listener(stomp.ConnectionListener):
    """stomp.py's receiver thread: each MESSAGE into the inbox, with when it came."""

    def __init__(self, inbox: queue.Queue[Received]) -> None:
        self._inbox = inbox

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self._inbox.put(Received(frame.headers, frame.body, datetime.now(tz=UTC)))


consumer = AnswerConsumer()
