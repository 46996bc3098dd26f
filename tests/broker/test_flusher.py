"""The write pass over every connection with output: one connection's failure is its own."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from broker.transports.sockets import Flusher


class Connection:
    """What the Flusher sees of a connection: it writes, or is aborted after a failure."""

    def __init__(self) -> None:
        self.writes = 0
        self.aborted_by: BaseException | None = None

    def flush(self) -> None:
        self.writes += 1

    def abort(self, error: BaseException) -> None:
        self.aborted_by = error


class BrokenConnection(Connection):
    def flush(self) -> None:
        raise RuntimeError("a bug while writing")


async def one_pass(*connections: Connection) -> None:
    flusher = Flusher()
    for connection in connections:
        flusher.mark(connection)  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the pass runs as the loop's next callback


def test_a_connection_whose_write_fails_is_aborted_and_the_others_are_written() -> None:
    before, broken, after = Connection(), BrokenConnection(), Connection()
    # a loop of its own, in a thread of its own: a test before may have left this thread's
    # loop running (Playwright's sync API keeps one for the browser tests' session)
    with ThreadPoolExecutor(1) as alone:
        alone.submit(asyncio.run, one_pass(before, broken, after)).result()
    assert (before.writes, after.writes) == (1, 1)
    assert isinstance(broken.aborted_by, RuntimeError)
