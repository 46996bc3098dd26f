"""bench/goals.py judged on made-up runs: which runs a goal applies to, met, missed, skipped,
failed, and the goals that compare two runs. No server is started."""

from __future__ import annotations

from typing import Any

from bench import goals
from bench.cli import GAME_SHAPES
from bench.games import GameRun
from bench.queues import Measure
from bench.targets import OURS, PEER
from bench.workloads import Latency, Run, Throughput


def goal(text: str) -> goals.Goal:
    (found,) = [goal for goal in goals.GOALS if goal.text == text]
    return found


P99 = goal("broadcast p99 < 50 ms")
THREE_TIMES_RABBITMQ = goal("deliveries/s >= 3x RabbitMQ")
NOTHING_LOST = goal("no message lost or duplicated, no connection dropped")
QUEUE = goal(">= 20,000 msg/s, 0 lost")
DURABLE = goal("deep within 2x of empty")
ANSWERS = goal("100% of answers accepted")
JOINS = goal("joins ≥ 100/s (1,000 players in ≤ 10 s)")
IDLE_LOBBY = goal("an idle lobby costs the site < 5% of a core")


def game(**fields: Any) -> GameRun:
    """A game of a shape that only the goals for every shape apply to."""
    return GameRun("embedded", "ws", "many: 10 games x 100", **{"answers_sent": 100, **fields})


def deliveries(target: str, workload: str, per_second: int) -> Throughput:
    return Throughput(target, "ws", workload, expected=per_second, received=per_second, seconds=1)


def test_a_goal_is_met_when_the_figure_clears_its_bar() -> None:
    (verdict,) = goals.judge(P99, [Latency(OURS, "ws", "1 topic x 1000", p99_ms=49.9)])
    assert (verdict.measured, verdict.met) == ("49.9 ms", True)


def test_a_goal_is_missed_when_the_figure_is_on_the_wrong_side_of_its_bar() -> None:
    (verdict,) = goals.judge(P99, [Latency(OURS, "ws", "1 topic x 1000", p99_ms=50.0)])
    assert (verdict.measured, verdict.met) == ("50.0 ms", False)


def test_a_skipped_run_is_listed_with_why_and_not_judged() -> None:
    (verdict,) = goals.judge(ANSWERS, [game(skipped="--no-rabbitmq")])
    assert (verdict.measured, verdict.met) == ("skipped: --no-rabbitmq", None)


def test_a_failed_run_misses_the_goal_and_says_why() -> None:
    (verdict,) = goals.judge(ANSWERS, [game(answers=100, failure="no results frame")])
    assert (verdict.measured, verdict.met) == ("failed: no results frame", False)


def test_a_goal_is_judged_only_on_the_runs_of_its_kind_and_target() -> None:
    runs = [
        Latency(PEER, "ws", "1 topic x 1000", p99_ms=70),
        Throughput(OURS, "ws", "1 topic x 1000"),
        Latency(OURS, "tcp", "1 topic x 1000", p99_ms=20),
    ]
    assert [verdict.run for verdict in goals.judge(P99, runs)] == [runs[2]]


def test_the_joins_goal_applies_to_the_one_game_shapes_of_make_bench_only() -> None:
    runs = [game() for _ in GAME_SHAPES]
    for run, shape in zip(runs, GAME_SHAPES.values(), strict=True):
        run.workload = str(shape)
    judged = [verdict.run.workload for verdict in goals.judge(JOINS, runs) if verdict.run]
    assert judged == [str(GAME_SHAPES[name]) for name in ("burst", "kahoot", "flood")]


def test_an_idle_lobby_is_judged_by_the_sites_share_of_a_core_while_it_idled() -> None:
    kahoot = str(GAME_SHAPES["kahoot"])
    runs = [
        GameRun(
            "embedded", "ws", kahoot, games=1, players=2000, site_cpu_idle=idle, idle_seconds=60
        )
        for idle in (2.9, 3.1)
    ]
    verdicts = goals.judge(IDLE_LOBBY, runs)
    assert [(verdict.measured, verdict.met) for verdict in verdicts] == [
        ("4.8% of a core (2,000 phones)", True),
        ("5.2% of a core (2,000 phones)", False),
    ]


def test_an_idle_player_minute_costs_the_idle_share_of_a_core_spread_over_the_players() -> None:
    run = game(games=1, players=2000, site_cpu_idle=3.0, idle_seconds=60)
    assert run.site_cpu_ms_per_idle_player_minute == 1.5


def test_all_answers_accepted_needs_at_least_one_answer() -> None:
    (verdict,) = goals.judge(ANSWERS, [game(answers=0, answers_sent=0)])
    assert verdict.met is False


def test_deliveries_are_compared_with_rabbitmq_on_the_same_workload_and_transport() -> None:
    ours = deliveries(OURS, "1 topic x 1000", 300_000)
    runs = [ours, deliveries(PEER, "1 topic x 1000", 100_000)]
    (verdict,) = goals.judge(THREE_TIMES_RABBITMQ, runs)
    assert (verdict.run, verdict.measured, verdict.met) == (ours, "3.00x", True)


def test_without_rabbitmq_to_compare_with_the_deliveries_goal_is_not_judged() -> None:
    runs = [deliveries(OURS, "1 topic x 1000", 300_000), deliveries(PEER, "1 topic x 500", 1)]
    assert goals.judge(THREE_TIMES_RABBITMQ, runs) == []


def test_a_lossless_goal_is_missed_by_a_run_that_lost_a_message_however_fast() -> None:
    run = Measure(OURS, "tcp", "queue to one consumer", expected=10, received=9, value=50_000)
    (verdict,) = goals.judge(QUEUE, [run])
    assert verdict.met is False


def test_a_deep_durable_queue_more_than_twice_as_slow_as_an_empty_one_misses_on_both() -> None:
    runs = [
        Measure(OURS, "tcp", "durable enqueue at depth 0, 10,000 SENDs", value=30_000),
        Measure(OURS, "tcp", "durable enqueue at depth 50,000", value=14_000),
    ]
    assert [verdict.met for verdict in goals.judge(DURABLE, runs)] == [False, False]


def test_the_loss_total_sums_our_runs_that_did_not_fail() -> None:
    runs: list[Run] = [
        Throughput(OURS, "ws", "1 topic x 10", expected=10, received=8),
        Throughput(OURS, "tcp", "1 topic x 10", expected=10, received=11, dropped=["closed"]),
        Throughput(OURS, "tcp", "1 topic x 100", expected=10, received=0, failure="refused"),
        Throughput(PEER, "ws", "1 topic x 10", expected=10, received=0),
    ]
    (verdict,) = goals.judge(NOTHING_LOST, runs)
    assert (verdict.run, verdict.measured, verdict.met) == (None, "4", False)


def test_every_goal_of_a_group_comes_goal_by_goal_in_the_order_declared() -> None:
    runs = [game(answers=100), game(answers=90)]
    texts = [verdict.goal.text for verdict in goals.verdicts(goals.GAMES, runs)]
    declared = [
        goal.text for goal in goals.GOALS if goal.group == goals.GAMES and not goal.workload
    ]
    assert texts == [text for text in declared for _ in runs]
