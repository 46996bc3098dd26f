"""`make bench` runs: a short run of its broker latency and whole-game workloads, on the
built-in broker and the embedded site, loses nothing and prints its tables and goals."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_a_quick_bench_of_latency_and_a_whole_game_loses_nothing() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "latency",
            "--only",
            "game",
            "--transport",
            "ws",
            "--no-rabbitmq",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    headings = [line for line in result.stdout.splitlines() if line.startswith("## ")]
    assert [heading.split(":")[0] for heading in headings] == [
        "## Broadcast latency",
        "## Goals",
        "## Whole games",
        "## Goals",
    ]
    assert headings[1] == "## Goals: the broker against RabbitMQ"
    assert headings[3] == "## Goals: whole games"
    rows = {
        line.split("|")[1].strip(): line
        for line in result.stdout.splitlines()
        if line.startswith("| ")
    }
    assert "| 100 / 100 " in rows["answers accepted / sent"]
    assert rows["lost answers"].split("|")[2].strip() == "0"
    assert rows["frames missing"].split("|")[2].strip() == "0"
