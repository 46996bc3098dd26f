"""`GET /metrics`: the broker's stats for Prometheus (and Grafana Agent, VictoriaMetrics and
the like) to scrape, rendered by prometheus_client from what `/stats` shows, plus the event
loop's lag and the process's own memory, CPU and file descriptors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

CONTENT_TYPE = CONTENT_TYPE_LATEST

# /stats key: (metric name without _total, help); each counts since the broker started.
COUNTERS = {
    "messages_in": ("stomp_messages_received", "Messages received from publishers."),
    "messages_out": ("stomp_messages_delivered", "Messages delivered to subscribers."),
    "messages_dropped": (
        "stomp_messages_dropped",
        "Topic messages skipped for subscribers above high water (slow_consumer_policy drop).",
    ),
    "slow_consumers_dropped": (
        "stomp_slow_consumers",
        "Subscribers disconnected as slow consumers.",
    ),
    "bytes_in": ("stomp_received_bytes", "Bytes received from clients."),
    "bytes_out": ("stomp_sent_bytes", "Bytes handed to the clients' sockets."),
    "heartbeat_timeouts": (
        "stomp_heartbeat_timeouts",
        "Connections ended because their client's heart-beats stopped.",
    ),
    "auth_failures": (
        "stomp_auth_failures",
        "CONNECTs refused: unknown login, wrong passcode, bad or expired token.",
    ),
}

# /stats "webhooks" key: (metric name without _total, help).
WEBHOOK_COUNTERS = {
    "delivered": ("stomp_webhook_events_delivered", "Webhook events a receiver answered 2xx to."),
    "failed_attempts": (
        "stomp_webhook_failed_posts",
        "Webhook POSTs that failed (no answer in time, or not 2xx); each is retried or dropped.",
    ),
    "dropped": (
        "stomp_webhook_events_dropped",
        "Webhook events dropped: their queue was full, or their POST failed max_attempts times.",
    ),
}


class StatsCollector:
    """Reads the stats afresh at each scrape (nothing is kept between scrapes)."""

    def __init__(
        self, stats: Callable[[], Mapping[str, Any]], event_loop_lag: Callable[[], float]
    ) -> None:
        self._stats = stats
        self._event_loop_lag = event_loop_lag

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        connections = GaugeMetricFamily(
            "stomp_connections", "Open connections by transport.", labels=["transport"]
        )
        for transport in ("tcp", "ws", "sse", "poll"):
            connections.add_metric([transport], stats["connections"].get(transport, 0))
        yield connections
        subscriptions = GaugeMetricFamily(
            "stomp_subscriptions", "Subscriptions by kind of destination.", labels=["kind"]
        )
        for kind in ("topic", "queue", "presence"):
            subscriptions.add_metric(
                [kind],
                sum(
                    n for name, n in stats["subscriptions"].items() if name.startswith(f"/{kind}/")
                ),
            )
        yield subscriptions
        yield GaugeMetricFamily(
            "stomp_destinations_subscribed",
            "Destinations with at least one subscriber.",
            value=len(stats["subscriptions"]),
        )
        for key, (name, help_) in COUNTERS.items():
            yield CounterMetricFamily(name, help_, value=stats[key])
        queues = GaugeMetricFamily(
            "stomp_queue_messages", "Messages waiting in each queue.", labels=["queue"]
        )
        for queue, depth in stats["queues"].items():
            queues.add_metric([queue], depth)
        yield queues
        webhooks = stats["webhooks"]
        for key, (name, help_) in WEBHOOK_COUNTERS.items():
            yield CounterMetricFamily(name, help_, value=webhooks[key])
        yield GaugeMetricFamily(
            "stomp_webhook_events_queued",
            "Webhook events waiting for their receiver.",
            value=webhooks["queued"],
        )
        yield GaugeMetricFamily(
            "stomp_tcp_write_buffer_bytes",
            "Unsent bytes in every TCP socket's buffer.",
            value=stats["transport"]["tcp_write_buffer_bytes"],
        )
        yield GaugeMetricFamily(
            "stomp_connections_closing",
            "Connections the broker ended whose sockets are not gone yet (max_connections counts "
            "them).",
            value=stats["connections"].get("closing", 0),
        )
        yield GaugeMetricFamily(
            "stomp_http_answer_bytes",
            "Bytes of /poll and /sse answers not yet taken by their clients "
            "(limits.max_http_answer_bytes).",
            value=stats["transport"].get("http_answer_bytes", 0),
        )
        yield GaugeMetricFamily(
            "stomp_event_loop_lag_seconds",
            "How late the event loop last ran a callback that was due at a known time.",
            value=self._event_loop_lag(),
        )
        yield GaugeMetricFamily(
            "stomp_uptime_seconds",
            "Seconds since the broker started.",
            value=stats["uptime_seconds"],
        )


def registry(
    stats: Callable[[], Mapping[str, Any]], event_loop_lag: Callable[[], float]
) -> CollectorRegistry:
    """The broker's metrics and the process's (process_resident_memory_bytes and others)."""
    metrics = CollectorRegistry(auto_describe=False)
    metrics.register(StatsCollector(stats, event_loop_lag))
    ProcessCollector(registry=metrics)
    return metrics


def exposition(metrics: CollectorRegistry) -> bytes:
    return generate_latest(metrics)
