"""Behind a reverse proxy that terminates TLS, the pages' POSTs pass Django's origin check
once the operator says so (QUIZ_TRUST_X_FORWARDED_PROTO, CSRF_TRUSTED_ORIGINS)."""

from django.test import Client

from quiz.game.models import Game

SITE = "quiz.example.org"
PROXIED = {"HTTP_HOST": SITE, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_ORIGIN": f"https://{SITE}"}


def join_through_the_proxy(game: Game) -> int:
    """The static join form's POST, which the join checks by its Origin as Django's CSRF
    check would (tests/quiz/test_join_page.py)."""
    browser = Client(enforce_csrf_checks=True)
    assert browser.get("/", **PROXIED).status_code == 200
    reply = browser.post("/join/", {"pin": game.pin, "nickname": "Ann"}, **PROXIED)
    return reply.status_code


def test_without_the_proxy_settings_a_join_from_an_https_page_is_refused(game: Game) -> None:
    assert join_through_the_proxy(game) == 403
    assert not game.players.exists()


def test_with_the_proxy_settings_the_join_goes_through(game: Game, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_TRUSTED_ORIGINS = [f"https://{SITE}"]
    assert join_through_the_proxy(game) == 200
    assert game.players.get().nickname == "Ann"


def test_the_environment_sets_them(fresh_settings) -> None:
    env = {
        "QUIZ_TRUST_X_FORWARDED_PROTO": "1",
        "CSRF_TRUSTED_ORIGINS": f"https://{SITE},https://b.org",
    }
    header = fresh_settings("SECURE_PROXY_SSL_HEADER", **env)
    assert header.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", header.stderr
    origins = fresh_settings("CSRF_TRUSTED_ORIGINS", **env)
    assert origins.stdout.strip() == f"['https://{SITE}', 'https://b.org']"
    assert fresh_settings("SECURE_PROXY_SSL_HEADER").stdout.strip() == "None"
