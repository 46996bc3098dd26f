"""The policy each response carries (quiz.game.middleware): the page's one inline script is
let through by its nonce, and the game's broker is the one place besides the site a page may
connect to. (tests/e2e/test_content_security_policy.py plays a game under it in Chromium.)"""

import re

from django.test import Client

from quiz.game.models import Game


def directive(response, name: str) -> str:
    policy = response["Content-Security-Policy"]
    return next(d for d in policy.split("; ") if d.startswith(f"{name} "))


def test_the_import_map_carries_the_nonce_of_its_own_response(client: Client, db) -> None:
    first, second = client.get("/join/"), client.get("/join/")
    nonce = re.search(rb'<script type="importmap" nonce="([^"]+)"', first.content).group(1)
    assert f"'nonce-{nonce.decode()}'" in directive(first, "script-src")
    assert f"'nonce-{nonce.decode()}'" not in directive(second, "script-src")


def test_pages_connect_to_the_site_and_the_broker_they_are_sent_to(
    client: Client, game: Game, settings
) -> None:
    settings.STOMP_WS_URL = ""
    settings.STOMP_WS_PORT = 15674
    client.post("/join/", {"pin": game.pin, "nickname": "Ann"}, HTTP_HOST="192.168.1.20:8000")
    page = client.get(f"/play/{game.id}/", HTTP_HOST="192.168.1.20:8000")
    assert directive(page, "connect-src") == (
        "connect-src 'self' ws://192.168.1.20:15674 http://192.168.1.20:15674"
    )


def test_api_errors_carry_the_policy_too(client: Client, db) -> None:
    assert "default-src 'self'" in client.get("/api/no-such-thing/")["Content-Security-Policy"]
