"""The webhooks' HTTP client: one task per receiver POSTs what `broker.webhooks` says to
send, and tells it how each POST went."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import urllib.parse
from collections.abc import Callable

from broker.webhooks import Delivery, Endpoint, answer_failure

log = logging.getLogger("broker")


async def post_webhook(delivery: Delivery, context: ssl.SSLContext | None) -> str | None:
    """POST one webhook delivery: None when the receiver answered 2xx, else why not. Only the
    status line is read, and the connection is not kept: one POST at a time per receiver."""
    url = urllib.parse.urlsplit(delivery.url)
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {url.netloc}",
        *(f"{name}: {value}" for name, value in delivery.headers),
        f"Content-Length: {len(delivery.body)}",
        "Connection: close",
        "User-Agent: stomp-broker",
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + delivery.body
    try:
        async with asyncio.timeout(delivery.timeout):
            reader, writer = await asyncio.open_connection(
                url.hostname, port, ssl=context if https else None
            )
            try:
                writer.write(request)
                status_line = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        return f"no answer within {delivery.timeout} s"
    except (OSError, ValueError) as error:  # ValueError: a status line past 64 KiB, a bad name
        return str(error) or type(error).__name__
    return answer_failure(status_line)


async def deliver_webhooks(
    endpoint: Endpoint, now: Callable[[], float], context: ssl.SSLContext | None
) -> None:
    """One receiver's POSTs, one at a time, for the broker's life; the endpoint says what to
    send and when, and wakes this task when an event comes (its on_ready)."""
    wake = asyncio.Event()
    endpoint.on_ready = wake.set
    while True:
        delivery = endpoint.take(now=now(), wall_time=time.time())
        if delivery is None:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(endpoint.wait_seconds(now())):
                    await wake.wait()
            continue
        try:
            reason = await post_webhook(delivery, context)
        except Exception as error:  # a bug: this POST failed, and the receiver's task goes on
            log.error("webhook %s: POST failed", delivery.url, exc_info=error)
            reason = f"internal error ({type(error).__name__})"
        if reason is None:
            endpoint.succeeded()
        else:
            log.info("webhook %s: POST failed: %s", delivery.url, reason)
            endpoint.failed(now=now(), reason=reason)
