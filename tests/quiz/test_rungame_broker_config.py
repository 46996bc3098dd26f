"""The broker config `make run` writes (quiz.live.broker_config, with rungame.site_origins):
the broker takes WebSockets and HTTP subscriptions from the site's own pages only."""

import tomllib

import pytest

from broker.config import config_from_dict
from quiz.game.management.commands import rungame
from quiz.live.broker_config import broker_config


def allowed_origins(site_host: str, site_port: int) -> tuple[str, ...]:
    text = broker_config(origins=rungame.site_origins(site_host, site_port))
    return config_from_dict(tomllib.loads(text)).http.allowed_origins


def test_on_loopback_only_this_computers_pages_may_connect(settings) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    assert set(allowed_origins("127.0.0.1", 8000)) == {
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    }


def test_on_every_interface_the_phones_origin_on_this_network_is_allowed(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setattr(rungame, "lan_address", lambda: "192.168.1.20")
    origins = allowed_origins("0.0.0.0", 8000)
    assert "http://192.168.1.20:8000" in origins
    assert "http://127.0.0.1:8000" in origins


def test_host_names_the_site_is_named_by_are_allowed(settings) -> None:
    settings.ALLOWED_HOSTS = ["quiz.school.example", ".wildcard.example", "*"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://quiz.example.org"]
    origins = allowed_origins("127.0.0.1", 8000)
    assert "http://quiz.school.example:8000" in origins
    assert "https://quiz.example.org" in origins
    assert not any("wildcard" in origin or "*" in origin for origin in origins)
