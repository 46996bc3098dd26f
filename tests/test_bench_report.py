"""bench/report.py rendering made-up runs: the table layout, and the goal tables (the
broker's, the queues' and the whole games') built from bench/goals.py. No server is started."""

from __future__ import annotations

from bench import report
from bench.games import GameRun
from bench.queues import Measure
from bench.targets import OURS
from bench.workloads import Latency, Memory, Run


def cells(table: str) -> list[list[str]]:
    """The table's rows below its header and rule, each a list of stripped cells."""
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in table.splitlines()[2:]]


def test_a_table_pads_text_left_and_numbers_right_under_a_markdown_rule() -> None:
    rendered = report.table(["name", "kind", "n"], [["a", "bb", "1"], ["ccc", "d", "1,000"]])
    assert rendered == (
        "| name | kind |     n |\n"
        "| ---- | ---- | ----: |\n"
        "| a    | bb   |     1 |\n"
        "| ccc  | d    | 1,000 |"
    )


def test_the_broker_goals_follow_the_runs_order_and_end_with_the_loss_total() -> None:
    runs: list[Run] = [
        Latency(OURS, "ws", "1 topic x 1000", p99_ms=60),
        Memory(OURS, "ws", "10,000 idle", connections=10, rss_after=10 * 1024 * 16),
    ]
    assert cells(report.goals_table(runs)) == [
        ["broadcast p99 < 50 ms, 1 topic x 1000", "ws", "60.0 ms", "**NO**"],
        ["< 20 KiB per idle connection, 10,000 idle", "ws", "16.0 KiB", "yes"],
        ["no message lost or duplicated, no connection dropped", "all", "0", "yes"],
    ]


def test_a_failed_run_of_ours_is_left_out_of_the_broker_goals() -> None:
    runs = [Latency(OURS, "tcp", "1 topic x 1000", failure="refused")]
    assert [row[0] for row in cells(report.goals_table(runs))] == [
        "no message lost or duplicated, no connection dropped"
    ]


def test_a_measure_table_shows_each_figure_with_its_goal_and_a_failed_one_as_missed() -> None:
    runs = [
        Measure(OURS, "tcp", "idle CPU, 1,000 connections", value=0.5, unit="% of a core"),
        Measure(OURS, "tcp", "queue to one consumer", failure="refused"),
    ]
    assert [row[:5] for row in cells(report.measure_table(runs))] == [
        ["idle CPU, 1,000 connections", "tcp", "0.5 % of a core", "< 5% of a core", "yes"],
        ["queue to one consumer", "tcp", "failed", ">= 20,000 msg/s, 0 lost", "**NO**"],
    ]


def test_the_game_goals_list_a_skipped_setup_with_why_and_no_verdict() -> None:
    run = GameRun("RabbitMQ+PostgreSQL", "ws", "many: 10 games x 100", skipped="--no-rabbitmq")
    first = cells(report.game_goals_table([run]))[0]
    assert first == [
        "100% of answers accepted",
        "many: 10 games x 100: RabbitMQ+PostgreSQL",
        "skipped: --no-rabbitmq",
        "n/a",
    ]


def test_queue_runs_alone_get_no_broker_goals() -> None:
    runs = [Measure(OURS, "tcp", "idle CPU, 1,000 connections", value=0.5, unit="% of a core")]
    document = report.document("Broker benchmark", [], runs)
    assert "## Goals: the broker against RabbitMQ" not in document
    assert "## Queues, durable store and idle heart-beats" in document
