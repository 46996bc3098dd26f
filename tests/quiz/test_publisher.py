"""A broker outage never fails a game action."""

import pytest
from django.test import override_settings

from quiz import live


@pytest.mark.real_publisher
def test_publish_without_broker_drops_frame_quietly(caplog) -> None:
    with override_settings(STOMP_HOST="127.0.0.1", STOMP_PORT=1):
        live.get_backend().publish(
            "/topic/games.1.status", {"type": "lobby", "version": 1, "data": {}}
        )
    assert "Dropped frame lobby" in caplog.text


@pytest.mark.real_publisher
def test_pointing_the_site_at_another_broker_forgets_the_connection_to_the_last(
    settings,
) -> None:
    """A connection left open to one test's broker would publish there, not to the next's."""
    before = live.get_backend()
    settings.STOMP_PORT = 1
    assert live.get_backend() is not before
