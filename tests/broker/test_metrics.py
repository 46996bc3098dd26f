"""/metrics on bytes: every output the broker holds for clients has its gauge."""

from __future__ import annotations

from stomp_bytes import make_broker

from broker.metrics import StatsCollector


def gauges(stats: dict) -> dict[str, float]:
    families = StatsCollector(lambda: stats, lambda: 0.0).collect()
    return {family.name: family.samples[0].value for family in families if family.samples}


def test_sockets_still_closing_and_unread_http_answers_have_gauges() -> None:
    stats = dict(make_broker().stats())
    stats["connections"] = {**stats["connections"], "closing": 3}
    stats["transport"] = {"tcp_write_buffer_bytes": 5, "http_answer_bytes": 1_500_000}
    shown = gauges(stats)
    assert shown["stomp_connections_closing"] == 3
    assert shown["stomp_http_answer_bytes"] == 1_500_000
    assert shown["stomp_tcp_write_buffer_bytes"] == 5
