"""One rule for where a request comes from (quiz.game.throttle.client_address): the peer's
IP address as the server saw it, or None when it gave none that is one. The join records
it, and the throttle counts by it."""

import pytest
from django.test import RequestFactory

from quiz.game.throttle import client_address


@pytest.mark.parametrize(
    ("remote_addr", "address"),
    [
        ("198.51.100.9", "198.51.100.9"),
        ("2001:DB8::0:1", "2001:db8::1"),  # written one way, whatever way it came
        ("", None),  # gunicorn on a Unix socket behind a proxy
        ("not-an-address", None),
    ],
)
def test_a_client_address_is_the_peers_ip_address_or_none(remote_addr, address) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    assert client_address(request) == address


def test_a_forwarded_for_header_does_not_change_the_client_address() -> None:
    """Any client can write X-Forwarded-For: the address is the peer's (docs/operations.md,
    behind a proxy)."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.1"
    )
    assert client_address(request) == "198.51.100.9"
