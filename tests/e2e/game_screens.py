"""What the e2e tests drive: Debian's Chromium windows for the host and the players."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PROJECTOR: dict[str, Any] = {"viewport": {"width": 1600, "height": 900}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
HOST_LOGIN = ("quizmaster", "e2e-password-123")
QUESTIONS = [
    (
        "Which planet is known as the Red Planet?",
        [("Mars", True), ("Venus", False), ("Jupiter", False), ("Saturn", False)],
    ),
    ("Which of these are prime numbers?", [("2", True), ("3", True), ("4", False)]),
]


class Screens:
    """Browser windows for one test: a projector for the host, phones for the players."""

    def __init__(self, browser: Browser, request: pytest.FixtureRequest) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.page_errors: list[str] = []
        self.shots = 0
        self.prefix = re.sub(r"\W+", "-", request.node.name).strip("-")

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return page

    def window(self, **options: Any) -> Page:
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        context.set_default_timeout(10_000)
        return self.watch(context.new_page())

    def host(self, base_url: str) -> Page:
        """Log in as the quiz's author and host a new game from the quiz list."""
        page = self.window(**PROJECTOR)
        page.goto(f"{base_url}/accounts/login/")
        page.get_by_label("Username").fill(HOST_LOGIN[0])
        page.get_by_label("Password").fill(HOST_LOGIN[1])
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Host a game").click()
        expect(page.locator("#pin")).to_have_text(re.compile(r"^\d{6}$"))
        return page

    def player(self, join_url: str, nickname: str) -> Page:
        """Open the join link on a phone and join under `nickname`."""
        page = self.window(**PHONE)
        page.goto(join_url)
        page.get_by_label("Nickname").fill(nickname)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("heading", name="You're in!")).to_be_visible()
        return page

    def another_tab(self, page: Page) -> Page:
        """The same browser (same session) in a second tab."""
        tab = self.watch(page.context.new_page())
        tab.goto(page.url)
        return tab

    def shoot(self, stage: str, **pages: Page) -> None:
        """Save what each screen shows now, as test artifacts."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        for who, page in pages.items():
            page.screenshot(path=ARTIFACTS / f"{self.prefix}-{self.shots:02d}-{stage}-{who}.png")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


class BrokerLink:
    """The path between one page and the broker: every WebSocket the page opens goes through
    here to the real broker, and a test can cut it, or lose the broker's frames that contain
    a given text."""

    def __init__(self, page: Page, *, lose: str | None = None) -> None:
        self.up = True
        self.refused = 0  # connections refused while cut
        self.lose = lose
        self.lost: list[str] = []
        self.open: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        page.route_web_socket(re.compile(r"/ws$"), self._connect)

    def _connect(self, page_side: WebSocketRoute) -> None:
        if not self.up:
            self.refused += 1
            page_side.close()
            return
        broker_side = page_side.connect_to_server()
        broker_side.on_message(lambda message: self._pass(page_side, message))
        self.open.append((page_side, broker_side))

    def _pass(self, page_side: WebSocketRoute, message: str | bytes) -> None:
        text = message.decode(errors="replace") if isinstance(message, bytes) else message
        if self.lose is not None and self.lose in text:
            self.lost.append(text)
            return
        page_side.send(message)

    def cut(self) -> None:
        """Drop the page's connections and refuse new ones."""
        self.up = False
        for page_side, broker_side in self.open:
            page_side.close()
            broker_side.close()
        self.open.clear()

    def restore(self) -> None:
        self.up = True
