"""The join form every phone opens is a static page at the site's root (public/index.html),
served as it is: no view, template or session, and a 304 to a phone that has it. So its join
POST carries no CSRF token: a join posted from another site's page is refused by its Origin,
as Django's own check does first, with a reason, and no one joins."""

import re
from html.parser import HTMLParser

from django.test import Client
from django.urls import resolve

from quiz.game import views
from quiz.game.models import NICKNAME_MAX, Game


class Form(HTMLParser):
    """A page's join form: where it posts, and each field's name and attributes."""

    def __init__(self, page: bytes) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, dict[str, str | None]] = {}
        self.feed(page.decode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and "join-form" in (found.get("class") or ""):
            self.action = found["action"] or ""
        elif tag == "input" and found.get("type") != "hidden":
            self.fields[found.pop("name") or ""] = {
                key: value for key, value in found.items() if key not in ("value", "autofocus")
            }


def test_the_site_root_is_the_static_join_form_with_no_cookie_and_its_policy(
    client: Client, db
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert not page.cookies
    assert "script-src 'self'" in page["Content-Security-Policy"]
    again = client.get("/?pin=123456", HTTP_IF_NONE_MATCH=page["ETag"])
    assert again.status_code == 304


def test_the_static_form_posts_the_same_fields_to_the_join_as_the_sites_own_form(
    client: Client, db
) -> None:
    static = Form(b"".join(client.get("/").streaming_content))
    rendered = Form(client.get("/join/").content)
    assert resolve(static.action).func is views.join
    assert static.action == rendered.action
    assert static.fields == rendered.fields
    assert static.fields["nickname"]["maxlength"] == str(NICKNAME_MAX)


def test_a_join_posted_from_another_sites_page_is_refused_with_a_reason(
    client: Client, game: Game
) -> None:
    refused = client.post(
        "/join/", {"pin": game.pin, "nickname": "Ann"}, HTTP_ORIGIN="https://elsewhere.example"
    )
    assert refused.status_code == 403
    assert re.search(rb'role="alert">This form was sent from another site', refused.content)
    assert not game.players.exists()


def test_a_join_posted_from_the_sites_page_or_by_no_browser_goes_in(
    client: Client, game: Game
) -> None:
    own = client.post(
        "/join/", {"pin": game.pin, "nickname": "Ann"}, HTTP_ORIGIN="http://testserver"
    )
    no_browser = Client().post("/join/", {"pin": game.pin, "nickname": "Bob"})
    assert (own.status_code, no_browser.status_code) == (200, 200)
    assert sorted(game.players.values_list("nickname", flat=True)) == ["Ann", "Bob"]


def test_the_first_answer_to_a_join_gives_the_browser_its_id(client: Client, game: Game) -> None:
    answer = client.post(
        "/join/", {"pin": "000000" if game.pin != "000000" else "1", "nickname": "A"}
    )
    assert answer.status_code == 404
    assert "quiz_client" in answer.cookies


def test_an_author_logged_in_who_follows_the_join_pages_author_login_goes_to_their_quizzes(
    client: Client, author
) -> None:
    page = b"".join(client.get("/").streaming_content).decode()
    login = re.search(r'<a href="([^"]+)">Author login</a>', page).group(1)
    assert client.get(login).status_code == 200  # the form, to someone not logged in
    client.force_login(author)
    assert client.get(login)["Location"] == "/quizzes/"
