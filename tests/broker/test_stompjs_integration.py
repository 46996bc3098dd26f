"""@stomp/stompjs under node receives, over WebSocket, what stomp.py publishes over TCP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import stomp
from real_broker import REPO, BrokerProcess

SCRIPT = Path(__file__).with_name("stompjs_client.mjs")


def test_stompjs_receives_a_message_published_with_stomp_py(broker_process: BrokerProcess) -> None:
    node = subprocess.Popen(
        ["node", str(SCRIPT), broker_process.ws_url, "guest", "guest", "/topic/js.hello"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        assert json.loads(node.stdout.readline()) == {"ready": True}
        conn = stomp.Connection([("127.0.0.1", broker_process.tcp_port)])
        conn.connect("guest", "guest", wait=True)
        conn.send("/topic/js.hello", "from python")
        conn.disconnect()
        received = json.loads(node.stdout.readline())
        assert node.wait(timeout=10) == 0
    finally:
        if node.poll() is None:
            node.kill()
    assert received == {"body": "from python", "destination": "/topic/js.hello", "version": "1.2"}
