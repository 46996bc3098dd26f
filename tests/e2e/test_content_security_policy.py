"""Every page comes with a Content-Security-Policy that lets the game's own modules, styles,
broker connections and QR code work and nothing else: a whole game plays with no violation
reported, and a script injected into a page is refused."""

from __future__ import annotations

from game_screens import QUESTIONS, Screens, heading, open_lobby
from playwright.sync_api import Page, expect

RED_PLANET, PRIMES = (text for text, _ in QUESTIONS)


def policy_of(page: Page) -> str:
    return page.context.request.get(page.url).headers.get("content-security-policy", "")


def test_a_whole_game_plays_under_the_sites_policy(screens: Screens, live_site: str) -> None:
    host, (ann,) = open_lobby(screens, live_site, "Ann")
    expect(host.locator(".qr svg")).to_be_visible()
    host.get_by_role("button", name="Start").click()
    expect(heading(ann, RED_PLANET)).to_be_visible()
    ann.get_by_role("button", name="Mars").click()
    expect(heading(ann, "Correct!")).to_be_visible()
    host.get_by_role("button", name="Next question").click()
    expect(heading(ann, PRIMES)).to_be_visible()
    host.get_by_role("button", name="Close now").click()
    host.get_by_role("button", name="Show podium").click()
    expect(ann.locator("#my-place")).to_contain_text("You finished 1st of 1")

    assert "script-src 'self'" in policy_of(host) and "script-src 'self'" in policy_of(ann)
    assert screens.csp_violations == []


def test_the_authors_pages_work_under_the_sites_policy(screens: Screens, live_site: str) -> None:
    author = screens.author(live_site)
    author.get_by_role("link", name="Edit").first.click()
    author.get_by_role("link", name="Add a question").click()
    expect(heading(author, "New question")).to_be_visible()
    assert "default-src 'self'" in policy_of(author)
    assert screens.csp_violations == []


def test_a_script_injected_into_a_page_is_refused_and_reported(
    screens: Screens, live_site: str
) -> None:
    _, (ann,) = open_lobby(screens, live_site, "Ann")
    ran = ann.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            return window.injected === true;
        }"""
    )
    assert ran is False
    for _ in range(50):  # the report comes as a console message, soon after
        if screens.csp_violations:
            break
        ann.wait_for_timeout(100)
    assert any("inline script" in report for report in screens.csp_violations)
