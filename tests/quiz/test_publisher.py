"""A broker outage never fails a game action."""

import pytest
from django.test import override_settings

from quiz import live


@pytest.mark.real_publisher
def test_publish_without_broker_drops_frame_quietly(caplog) -> None:
    live.get_backend().close()  # an earlier test may have left one open to a live broker
    with override_settings(STOMP_HOST="127.0.0.1", STOMP_PORT=1):
        live.get_backend().publish(
            "/topic/games.1.status", {"type": "lobby", "version": 1, "data": {}}
        )
    assert "Dropped frame lobby" in caplog.text
