"""rungame's supervisor judges a broker it started again as it judges the first: a crash is
started again, a stop (SIGTERM, SIGINT) stops the run. A broker stopped while it was being
started again, before it listened, once counted as one more crash, and a third broker came
up where the run should have stopped (seen in tests/test_make_run.py on a loaded machine)."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import free_port
from quiz.live import broker_process
from quiz.live.broker_process import BrokerSupervisor

pytestmark = pytest.mark.integration  # it starts processes

# A process that is stopped as a `kill` stops a broker, before it listens anywhere.
STOPPED_BEFORE_IT_LISTENS = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"


def test_a_broker_stopped_while_it_is_started_again_stops_the_run() -> None:
    port = free_port()  # where nothing listens
    said: list[str] = []
    supervisor = BrokerSupervisor(Path("unused.toml"), said.append)
    starts: list[int] = []

    def start() -> None:
        supervisor.process = subprocess.Popen([sys.executable, "-c", STOPPED_BEFORE_IT_LISTENS])
        starts.append(supervisor.process.pid)
        broker_process.wait_for_broker(supervisor.process, "127.0.0.1", port)

    supervisor.start = start  # the broker's command, as a process stopped before it listens

    supervisor._broker_ended(-signal.SIGKILL)  # the first broker crashed

    assert len(starts) == 1
    assert said == [
        "The broker exited; starting it again.",
        f"The broker exited with status {-signal.SIGTERM} (see above).",
        "The broker was stopped; stopping the site.",
    ]
    assert supervisor.stopped_by == signal.SIGTERM and not supervisor.gave_up
