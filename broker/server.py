"""One asyncio process: the listeners around one Broker, the heart-beat timer, the webhooks'
tasks, and signals.

Each transport is a package module of its own (`broker.transports.tcp`, `.websocket`), the
HTTP side of the WebSocket port is `broker.http_api`, the webhooks' POSTs are
`broker.webhook_client`; every protocol decision lives in `broker.session`, the routing
between sessions in `broker.routing`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.server import Server

from broker import http_subscribers
from broker.auth import PasscodeCheck
from broker.config import BrokerConfig
from broker.http_api import HttpApi
from broker.routing import Broker
from broker.transports import websocket
from broker.transports.sockets import Flusher
from broker.transports.tcp import TcpConnection
from broker.transports.websocket import WsConnection
from broker.webhook_client import deliver_webhooks

log = logging.getLogger("broker")

# Timers due within this of each other run in one tick: heart-beats need no finer grain.
TIMER_SLACK_SECONDS = 0.01


class BrokerServer:
    """Starts and stops both listeners around one Broker, plus the heart-beat timer and the
    webhooks' tasks."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        # PBKDF2 runs here, not on the event loop (hashlib lets go of the GIL while it hashes);
        # one core stays free for the loop whatever a flood of logins costs.
        self._hasher = ThreadPoolExecutor(
            max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="passcodes"
        )
        self.broker = Broker(config, verifier=self._verify_off_loop)
        self.http_subscribers = http_subscribers.HttpSubscribers(
            self.broker, config.http.allowed_origins
        )
        self.http_api = HttpApi(self.broker, config, self.http_subscribers, self.stats)
        self.tcp_connections: set[TcpConnection] = set()
        self.ws_connections: set[WsConnection] = set()
        self._tcp_server: asyncio.Server | None = None
        self._ws_server: Server | None = None
        self._flusher = Flusher()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._webhook_tasks: list[asyncio.Task[None]] = []

    def _verify_off_loop(
        self, check: PasscodeCheck, done: Callable[[bool], object]
    ) -> Callable[[], object]:
        """The broker's verifier: the check waits for the hashing thread; cancelling it (its
        client left) takes it out of the wait, or ignores its answer if it already runs."""
        future = asyncio.get_running_loop().run_in_executor(self._hasher, check.run)
        future.add_done_callback(
            lambda finished: None if finished.cancelled() else done(finished.result())
        )
        return future.cancel

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.tls is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls.certfile, self.config.tls.keyfile)
        return context

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        context = self._ssl_context()
        scheme = "s" if context else ""
        if self.config.tcp is not None:
            self._tcp_server = await loop.create_server(
                lambda: TcpConnection(self.broker, self.tcp_connections, self._flusher),
                self.config.tcp.host,
                self.config.tcp.port,
                ssl=context,
            )
            host, port = self._tcp_server.sockets[0].getsockname()[:2]
            log.info(
                "STOMP over TCP listening on %s:%s (stomp.py: Connection([(%r, %s)]))",
                host,
                port,
                host,
                port,
            )
        if self.config.ws is not None:
            self._ws_server = await websocket.listen(
                self.broker,
                self.config,
                self._flusher,
                self.ws_connections,
                answer_http=self.http_api.answer,
                context=context,
            )
            host, port = next(iter(self._ws_server.sockets)).getsockname()[:2]
            log.info(
                "STOMP over WebSocket listening on ws%s://%s:%s%s (stats: http%s://%s:%s/stats)",
                scheme,
                host,
                port,
                self.config.ws_path,
                scheme,
                host,
                port,
            )
        if not (self.config.users or self.config.tokens.secret or self.config.allow_anonymous):
            log.warning(
                "no users, no tokens secret and anonymous access off: every CONNECT will be "
                "refused; add --user LOGIN:PASSCODE, --allow-anonymous "
                "or a [[users]] table in --config"
            )
        self.broker.on_earlier_deadline = self._arm_timer
        self._arm_timer()
        self._start_webhooks()

    def _start_webhooks(self) -> None:
        """A task per `[[webhooks]]` receiver; https ones share one TLS client context."""
        endpoints = self.broker.webhooks.endpoints
        https = any(urllib.parse.urlsplit(e.rule.url).scheme == "https" for e in endpoints)
        context = ssl.create_default_context() if https else None
        self._webhook_tasks = [
            asyncio.create_task(deliver_webhooks(endpoint, self.broker.now, context))
            for endpoint in endpoints
        ]

    def _arm_timer(self) -> None:
        """One loop timer for the whole process, set for the broker's next deadline, so an
        idle broker sleeps until a heart-beat is due."""
        deadline = self.broker.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, deadline
        if deadline is not None:
            delay = max(deadline - time.monotonic(), 0.0) + TIMER_SLACK_SECONDS
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, None
        self.broker.tick()
        self._arm_timer()

    def stats(self) -> dict[str, Any]:
        """broker.stats() plus what only the transports know."""
        stats = dict(self.broker.stats())
        # The HTTP subscribers being answered, as connections of transports "poll" and "sse".
        stats["connections"] = {
            **stats["connections"],  # type: ignore[dict-item]
            **{t: self.http_subscribers.serving[t] for t in http_subscribers.TRANSPORTS.values()},
        }
        stats["transport"] = {
            "tcp_write_buffer_bytes": sum(
                c._transport.get_write_buffer_size() for c in self.tcp_connections if c._transport
            ),
            "ws_open": len(self.ws_connections),
            "http_answer_bytes": self.http_subscribers.answer_bytes,
        }
        return stats

    async def stop(self) -> None:
        """Stop accepting, tell every client, flush the stores and the sockets, close."""
        if self._tcp_server is not None:
            self._tcp_server.close()
        if self._ws_server is not None:
            self._ws_server.close(close_connections=False)
        self.broker.on_earlier_deadline = None
        if self._timer is not None:
            self._timer.cancel()
        for task in self._webhook_tasks:
            task.cancel()
        self.broker.shutdown()
        self._hasher.shutdown(wait=False, cancel_futures=True)
        self._flusher.flush_all()
        await asyncio.sleep(0)
        if self._ws_server is not None:
            self._ws_server.close(close_connections=True)
            await self._ws_server.wait_closed()
        if self._tcp_server is not None:
            await self._tcp_server.wait_closed()


async def serve_forever(config: BrokerConfig) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly."""
    logging.getLogger("websockets").setLevel(logging.WARNING)  # we log each connection ourselves
    server = BrokerServer(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    log.info("stopped")


def run(config: BrokerConfig) -> int:
    """Block in the event loop (uvloop where installed); exit status 0 after a clean stop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve_forever(config))
    else:
        uvloop.run(serve_forever(config))
    return 0
